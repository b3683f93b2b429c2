import hashlib
ME = "sallyport-authored"
LIC = "Apache-2.0"

def h(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)

def split_of(key, test_share=0.5):
    return "test" if (h(key) % 1000) < test_share * 1000 else "tune"

# Attack families (and benign template families) assigned whole to one split; the list is
# fixed so the assignment is explicit and balanced rather than left to a hash.
TEST_FAMILIES = {
    # tool poisoning
    "before_using", "shadow_reference", "schema_fields", "html_comment", "harvest_param",
    "note_to_ai", "sleeper", "non_english",
    # result injection
    "r_fake_turn", "r_exfil_image", "r_tag_smuggle", "r_base64", "r_addressed", "r_tool_directive",
    "r_prompt_leak", "r_override_variants",
}

def family_split(fam):
    return "test" if fam in TEST_FAMILIES else "tune"

def case(id, label, cls, kind, source, licence, input, server=None, expect=None, split="tune"):
    c = {"id": id, "label": label, "class": cls, "kind": kind, "source": source, "licence": licence}
    if server is not None:
        c["server"] = server
    if expect is not None:
        c["expect"] = expect
    c["input"] = input
    c["_split"] = split
    return c
