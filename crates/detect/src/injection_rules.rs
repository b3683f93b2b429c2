//! Tier-1 prompt-injection and tool-poisoning rules: a uniform table (keywords, then regex).
//! Keywords are lower-case literals that must all be present in any text the regex can match.

use crate::finding::{Class, Severity};
use crate::ruleset::RuleSpec;

const PI: Class = Class::PromptInjection;
const TP: Class = Class::ToolPoisoning;

/// Rules for text a model will read: tool results, descriptions, prompts.
pub(crate) static INJECTION_RULES: &[RuleSpec] = &[
    RuleSpec {
        id: "inj.ignore_instructions",
        class: PI,
        severity: Severity::High,
        score: 0.95,
        keywords: &["ignore", "disregard", "forget", "override", "bypass", "skip", "neglect", "abandon", "set aside", "drop"],
        pattern: r"(?i)\b(?:ignore|disregard|forget|override|bypass|skip|neglect|abandon|set\s+aside|drop)\b[\s\w,'’-]{0,40}?\b(?:previous|prior|above|earlier|preceding|all|any|your|the|these|those|system|original|initial|existing|safety|old)\b[\s\w,'’-]{0,30}?\b(?:instructions?|directions|prompts?|directives?|rules|guidelines|context|commands?|guardrails|programming|constraints|restrictions|messages?|policies|policy|training|filters?|conversation)\b",
    },
    RuleSpec {
        id: "inj.forget_everything",
        class: PI,
        severity: Severity::High,
        score: 0.9,
        keywords: &["forget", "reset", "wipe", "clear"],
        pattern: r"(?i)\b(?:forget|reset|wipe|clear)\s+(?:everything|all\s+(?:that|you)|your\s+(?:memory|context|instructions))",
    },
    RuleSpec {
        id: "inj.new_instructions",
        class: PI,
        severity: Severity::High,
        score: 0.9,
        keywords: &["instruction", "directive", "from now on", "task:", "orders"],
        pattern: r"(?i)\b(?:new|updated|real|actual|true|revised|additional|hidden|secret|important|urgent)\s+(?:system\s+)?(?:instructions?|directives?|orders|task)\s*(?:for\s+(?:the\s+)?(?:ai|assistant|model|agent)\s*)?[:\-!]|\bfrom\s+now\s+on\b[,\s]+(?:you|your|always|never|respond|act|ignore|only)",
    },
    RuleSpec {
        id: "inj.role_token",
        class: PI,
        severity: Severity::Critical,
        score: 1.0,
        keywords: &["<|", "[inst]", "<<sys>>", "</s>", "[/inst]"],
        pattern: r"(?i)<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>|\[/?INST\]|<</?SYS>>",
    },
    RuleSpec {
        id: "inj.fake_turn",
        class: PI,
        severity: Severity::High,
        score: 0.85,
        keywords: &["human:", "assistant:", "human :", "assistant :"],
        pattern: r"(?i)(?:^|\n)\s*(?:human|assistant)\s*:\s*\S",
    },
    RuleSpec {
        id: "inj.fake_system_turn",
        class: PI,
        severity: Severity::Medium,
        score: 0.6,
        keywords: &["system", "user", "instruction"],
        pattern: r"(?i)(?:^|\n)\s*(?:#{1,3}\s*)?(?:system|user|instructions?)\s*:\s*\S|(?:^|\n)\s*#{1,3}\s*(?:system|instructions?)\s*(?:\n|$)",
    },
    RuleSpec {
        id: "inj.marker_tag",
        class: PI,
        severity: Severity::High,
        score: 0.9,
        keywords: &["<important", "<system", "<instructions", "<secret", "<hidden", "<admin", "[system", "<!--", "[important", "<critical"],
        pattern: r"(?i)</?(?:important|system|system[-_]?(?:prompt|message|reminder|override)|instructions?|secret|hidden|admin|critical)\s*>|\[(?:system|important)(?:\s+(?:message|note|override))?\]|<!--[^>]{0,200}?\b(?:ignore|instruction|assistant|ai|model|must|tool|do\s+not|secret)\b",
    },
    RuleSpec {
        id: "inj.conceal_from_user",
        class: PI,
        severity: Severity::High,
        score: 0.95,
        keywords: &["user", "secret", "mention", "reveal", "disclose", "tell"],
        pattern: r"(?i)\b(?:do\s+not|don'?t|don’t|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|mention(?:ing)?|reveal(?:ing)?|alert(?:ing)?|show(?:ing)?|disclos(?:e|ing)|let(?:ting)?)\b[\s\w,'’-]{0,25}?\b(?:the\s+)?(?:user|human|owner|operator)s?\b|\b(?:keep\s+this|this\s+is)\s+(?:a\s+)?secret\s+(?:from|between)|\b(?:user|human)\s+(?:must|should)\s+not\s+(?:know|see|be\s+told|notice)",
    },
    RuleSpec {
        id: "inj.addressed_to_model",
        class: PI,
        severity: Severity::High,
        score: 0.85,
        keywords: &["ai:", "ai,", "ai!", "ai -", "ai :", "ais:", "assistant:", "assistant,", "assistant!", "assistants:", "agent:", "agent,", "agents:", "model:", "model,", "models:", "llm:", "llm,", "llms:", "claude:", "claude,", "gpt:", "gpt,", "chatbot:", "chatbot,", "copilot:", "copilot,", "if you are", "reading this", "processing this", "summarizing this", "summarising this", "parsing this"],
        pattern: r"(?i)\b(?:note|message|instructions?|attention|important|hey|dear|hello|memo)\s*(?:to|for)?\s*(?:the\s+|any\s+|all\s+)?(?:ai|assistant|model|llm|agent|chatbot|claude|gpt|copilot)s?(?:\s+(?:assistant|agent|model|system)s?)?\b\s*[:,!-]|\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|assistant|language\s+model|llm|agent|claude|gpt)\b|\b(?:ai|llm|language\s+model|assistant|agent)s?\s+(?:reading|processing|summari[sz]ing|parsing)\s+this\b",
    },
    RuleSpec {
        id: "inj.jailbreak_mode",
        class: PI,
        severity: Severity::High,
        score: 0.85,
        keywords: &["mode", "dan", "jailbreak", "unrestricted", "unfiltered", "restriction", "limitation", "filter", "anything now", "uncensored"],
        pattern: r"(?i)\b(?:enable|enabled|activate|activated|enter|entering|switch(?:ed)?\s+to|turn(?:ed)?\s+on|now\s+in|are\s+(?:now\s+)?in)\s+(?:the\s+)?(?:developer|god|jailbreak|dan|unrestricted|unfiltered|admin|sudo|maintenance|evil|uncensored)\s+mode\b|\b(?:developer|god|jailbreak|dan|unrestricted|unfiltered|evil|uncensored)\s+mode\s+(?:is\s+)?(?:enabled|activated|on)\b|\bjailbr(?:oken|eak)\b|\bdo\s+anything\s+now\b|\b(?:without|no|free\s+(?:of|from)|remove\s+(?:all\s+)?(?:your\s+)?)\s*(?:any\s+)?(?:ethical\s+|safety\s+|content\s+)?(?:restrictions|limitations|filters|guardrails|censorship|constraints)\b|\bunrestricted\s+(?:ai|assistant|model)\b|\buncensored\b",
    },
    RuleSpec {
        id: "inj.prompt_extraction",
        class: PI,
        severity: Severity::High,
        score: 0.9,
        keywords: &["prompt", "instructions", "guidelines", "rules", "configuration", "setup", "initialization"],
        pattern: r"(?i)\b(?:reveal|show|print|repeat|output|display|dump|leak|disclose|share|give|tell|list|recite|echo|return|expose|spell\s+out|write\s+out)\b[\s\w,'’-]{0,30}?\b(?:system|initial|original|hidden|secret|internal|full|exact|verbatim|confidential|your)\s+(?:system\s+)?(?:prompts?|instructions|guidelines|rules|configuration|setup|initialization|directives)\b",
    },
    RuleSpec {
        id: "inj.role_hijack",
        class: PI,
        severity: Severity::Medium,
        score: 0.7,
        keywords: &["you are now", "act as", "pretend", "roleplay", "role-play", "your new role", "you will now", "you must now"],
        pattern: r"(?i)\byou\s+(?:are|will|must)\s+now\b|\bact\s+as\s+(?:an?\s+)?(?:unrestricted|evil|different|new|system|admin|root|developer)|\bpretend\s+(?:to\s+be|you\s+are|that\s+you)|\brole-?play\s+as\b|\byour\s+new\s+role\b",
    },
    RuleSpec {
        id: "inj.tool_directive",
        class: PI,
        severity: Severity::High,
        score: 0.8,
        keywords: &["immediately", "now", "must", "should", "please", "then", "first", "also", "always"],
        pattern: r"(?i)\b(?:immediately|now|must|should|please|then|first|also|always)\s+(?:call|invoke|execute|run|use|trigger)\s+(?:the\s+)?[`'\x22]?[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+[`'\x22]?(?:\s+(?:tool|function|command))?",
    },
    RuleSpec {
        id: "inj.exfil_instruction",
        class: Class::Exfiltration,
        severity: Severity::High,
        score: 0.9,
        keywords: &["send", "post", "upload", "forward", "email", "transmit", "exfiltrate", "append", "include", "leak", "bcc"],
        pattern: r"(?i)\b(?:send|post|upload|forward|email|transmit|exfiltrate|leak)\s+(?:it|this|them|the|all|every|any|your|its|their)\b[\s\w,'’./~-]{0,60}?\b(?:to|into)\s+(?:https?://|\S+@\S+|(?:the\s+)?(?:following|this|my|our|attacker|external|remote)\s+(?:url|address|server|endpoint|email|webhook))|\b(?:append|add|include|encode)\b[\s\w,'’-]{0,80}?\b(?:in|into|to)\s+(?:the\s+)?(?:url|link|query\s+string|image\s+url|request)\b|\balways\s+(?:bcc|cc|copy)\s+\S+@",
    },
];

/// Rules only for tool and prompt definitions (instructions a benign definition never gives).
pub(crate) static POISON_RULES: &[RuleSpec] = &[
    RuleSpec {
        id: "poison.hidden_instruction",
        class: TP,
        severity: Severity::High,
        score: 0.9,
        keywords: &["before", "prior to", "first", "must", "always", "otherwise", "instead"],
        pattern: r"(?i)\b(?:before|prior\s+to)\s+(?:using|calling|invoking|running|executing|you\s+use|you\s+call|any\s+other)\b[\s\w,'’-]{0,60}?\b(?:read|open|cat|fetch|load|access|send|include|pass|call|check)\b|\byou\s+must\s+(?:first\s+|also\s+|always\s+)?(?:read|open|cat|fetch|load|access|send|include|pass|provide|collect|upload)\b|\botherwise\s+the\s+tool\s+(?:will\s+)?(?:not\s+work|fail|break|crash)|\b(?:this\s+tool|it)\s+(?:will\s+)?(?:not\s+work|fail)\s+(?:unless|if\s+you\s+don'?t)",
    },
    RuleSpec {
        id: "poison.credential_access",
        class: TP,
        severity: Severity::Critical,
        score: 1.0,
        keywords: &["ssh", "id_rsa", "id_ed25519", "mcp.json", "claude_desktop_config", ".cursor", "credentials", ".env", "private key", "api key", "api_key", "password", "token", "secret", ".aws", "passwd", ".netrc", "keychain", "wallet"],
        pattern: r"(?i)\b(?:read|cat|open|access|include|pass|send|attach|copy|fetch|load|extract|collect|provide|upload|get|retrieve|print|dump)\b[\s\w,'’:()-]{0,60}?(?:~/\.ssh|\.ssh/|id_rsa|id_ed25519|id_ecdsa|mcp\.json|claude_desktop_config|\.cursor/|\.aws/|/etc/passwd|/etc/shadow|\.netrc|\.env\b|\bcredentials?\b|\bprivate\s+keys?\b|\bapi[\s_-]?keys?\b|\bpasswords?\b|\bsecrets?\b|\b(?:access|auth|bearer|session)\s+tokens?\b|\bkeychain\b|\bwallet\b|\bseed\s+phrase\b)",
    },
    RuleSpec {
        id: "poison.sensitive_reference",
        class: TP,
        severity: Severity::High,
        score: 0.85,
        keywords: &["ssh", "id_rsa", "id_ed25519", "mcp.json", "claude_desktop_config", ".cursor", ".aws", "passwd", "shadow", ".netrc", ".env", "config.json"],
        pattern: r"(?i)~/\.ssh|\.ssh/|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|\bmcp\.json\b|claude_desktop_config|~/\.cursor|\.cursor/mcp|\.aws/credentials|/etc/(?:passwd|shadow|sudoers)|~/\.netrc|~/\.env\b|\.config/(?:claude|cursor|windsurf)",
    },
    RuleSpec {
        id: "poison.side_channel_param",
        class: TP,
        severity: Severity::High,
        score: 0.85,
        keywords: &["sidenote", "side_note", "note", "parameter", "argument", "field"],
        pattern: r"(?i)\b(?:pass|put|place|include|insert|add|provide|send|store)\b[\s\w,'’-]{0,50}?\b(?:as|in|into|via|using)\s+(?:the\s+)?[`'\x22]?(?:sidenote|side_note|note|notes|context|feedback|metadata|extra|debug|comment|remark)[`'\x22]?(?:\s+(?:parameter|argument|field|param))?",
    },
];
