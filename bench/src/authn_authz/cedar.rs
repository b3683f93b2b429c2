//! The Cedar policy set of the `cedar_100` cases.

/// 100 Cedar policies over a fleet of servers, in the shapes docs/authorization.md shows
/// (ten shapes, ten instances each). Four apply to the measured call (an operator calling
/// `fs/read_file`): the filesystem confinement `fs-confined-0`, which reads the
/// arguments, and three fleet-wide rules (`country-block`, `stale-login`, `own-tenant`,
/// the last also reading the arguments). The others are scoped to other servers, tools,
/// roles or actions, as most of a real policy set is for any one call.
pub fn hundred_cedar_policies() -> String {
    let mut text = String::new();
    for i in 0..100 {
        let n = i / 10;
        let policy = match i % 10 {
            0 => {
                let (path, dir) = if n == 0 {
                    ("mcp.fs".to_owned(), "/srv/data".to_owned())
                } else {
                    (format!("mcp.files{n}"), format!("/srv/share{n}"))
                };
                format!(
                    "@id(\"fs-confined-{n}\")\nforbid (principal, action, resource in Path::\"{path}\")\n\
                     when {{ context.phase == \"call\" }}\n\
                     unless {{ context.arguments.path like \"{dir}/*\" && !(context.arguments.path like \"*..*\") }};\n"
                )
            }
            1 => format!(
                "@id(\"transfer-limit-{n}\")\nforbid (principal, action, resource == Tool::\"payments{n}/transfer\")\n\
                 when {{ context.phase == \"call\" }}\nunless {{ context.arguments.amount <= {} }};\n",
                500 * (n + 1)
            ),
            2 => format!(
                "@id(\"office-hours-{n}\")\nforbid (principal in Role::\"team{n}\", action == Action::\"write\", resource)\n\
                 unless {{ context.time.minute_of_day >= 540 && context.time.minute_of_day < 1080 && \
                 [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"].contains(context.time.weekday) }};\n"
            ),
            3 => format!(
                "@id(\"freeze-{n}\")\nforbid (principal, action == Action::\"execute\", resource in Path::\"mcp.deploy{n}\")\n\
                 when {{ context.time.now >= datetime(\"2026-12-20\") && context.time.now < datetime(\"2027-01-04\") }};\n"
            ),
            4 => format!(
                "@id(\"admins-from-office-{n}\")\nforbid (principal in Role::\"admin\", action, resource in Path::\"mcp.infra{n}\")\n\
                 unless {{ context has source_ip && context.source_ip.isInRange(ip(\"10.{n}.0.0/16\")) }};\n"
            ),
            5 => format!(
                "@id(\"pii-{n}\")\nforbid (principal, action, resource in Path::\"mcp.crm{n}\")\n\
                 when {{ resource.labels.contains(\"pii\") && (!(principal in Role::\"admin\") || \
                 !(context has trust_score) || context.trust_score.lessThan(decimal(\"0.7\"))) }};\n"
            ),
            6 => format!(
                "@id(\"tenant-tools-{n}\")\nforbid (principal, action, resource in Path::\"mcp.tenant{n}\")\n\
                 unless {{ principal has tenant && principal.tenant == \"tenant{n}\" }};\n"
            ),
            7 => format!(
                "@id(\"delete-admins-only-{n}\")\nforbid (principal, action == Action::\"delete\", resource in Path::\"mcp.db{n}\")\n\
                 unless {{ principal in Role::\"admin\" }};\n"
            ),
            8 => format!(
                "@id(\"service-commands-{n}\")\n\
                 forbid (principal in Role::\"service_account\", action == Action::\"execute\", resource == Tool::\"ci{n}/run\")\n\
                 unless {{ context.phase == \"list\" || (context.arguments has command && \
                 [\"make test\", \"make lint\", \"git status\"].contains(context.arguments.command)) }};\n"
            ),
            _ => fleet_wide(n),
        };
        text.push_str(&policy);
    }
    text
}

/// Shape 9: three rules over every call, then per-tool kill switches.
fn fleet_wide(n: usize) -> String {
    match n {
        0 => "@id(\"country-block\")\nforbid (principal, action, resource)\n\
              when { context has country && [\"KP\", \"IR\", \"SY\"].contains(context.country) };\n"
            .to_owned(),
        1 => "@id(\"stale-login\")\nforbid (principal, action == Action::\"execute\", resource)\n\
              when { context.auth has age_secs && context.auth.age_secs > 43200 };\n"
            .to_owned(),
        2 => "@id(\"own-tenant\")\nforbid (principal, action, resource)\n\
              when { context.arguments has tenant_id && \
              !(principal has tenant && principal.tenant == context.arguments.tenant_id) };\n"
            .to_owned(),
        _ => format!(
            "@id(\"kill-switch-{n}\")\nforbid (principal, action, resource == Tool::\"legacy{n}/shell\");\n"
        ),
    }
}
