//! A per-server allow/deny list of tools.

use serde_json::Value;

use crate::{Denial, DenyCode, Direction, Exchange, Guard, GuardError, Verdict};

/// Which tools of which server may be seen and called.
pub trait ToolPermits: Send + Sync + std::fmt::Debug {
    /// True when `tool` of `server` is allowed.
    fn permits(&self, server: &str, tool: &str) -> bool;
}

/// Hides disallowed tools from `tools/list` results and refuses calls to them exactly as if
/// they did not exist (the real reason goes to the decision record only).
#[derive(Debug)]
pub struct ToolFilterGuard<P> {
    permits: P,
}

impl<P: ToolPermits> ToolFilterGuard<P> {
    /// A guard applying `permits`.
    pub fn new(permits: P) -> Self {
        Self { permits }
    }

    fn filter_list(&self, ex: &Exchange<'_>, server: &str) -> Verdict {
        let Some(tools) = ex
            .message
            .result_value()
            .and_then(|r| r.get("tools"))
            .and_then(Value::as_array)
        else {
            return Verdict::Allow;
        };
        let allowed = |t: &Value| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| self.permits.permits(server, n))
        };
        let hidden = tools.iter().filter(|t| !allowed(t)).count();
        if hidden == 0 {
            return Verdict::Allow;
        }
        let mut message = ex.message.clone();
        if let Some(Value::Array(list)) = message.result_mut().and_then(|r| r.get_mut("tools")) {
            list.retain(allowed);
        }
        Verdict::Rewrite {
            message,
            reason: format!("hid {hidden} tool(s) of server {server} by tool filter"),
        }
    }
}

impl<P: ToolPermits> Guard for ToolFilterGuard<P> {
    fn name(&self) -> &'static str {
        "tool_filter"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.server.is_some() && matches!(ex.method, Some("tools/call" | "tools/list"))
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let Some(server) = ex.server else {
            return Ok(Verdict::Allow);
        };
        match (ex.direction, ex.method) {
            (Direction::ClientToServer, Some("tools/call")) => {
                let tool = ex.tool.unwrap_or_default();
                if self.permits.permits(server, tool) {
                    return Ok(Verdict::Allow);
                }
                Ok(Verdict::Deny(
                    Denial::client(DenyCode::ToolNotAllowed, format!("Unknown tool: {tool}"))
                        .with_detail(format!(
                            "tool {tool} of server {server} is not allowed by the tool filter"
                        )),
                ))
            }
            (Direction::ServerToClient, Some("tools/list")) => Ok(self.filter_list(ex, server)),
            _ => Ok(Verdict::Allow),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chain, Decision, Principal};
    use sallyport_mcp::{Message, RequestId, version::Era};
    use serde_json::json;

    #[derive(Debug)]
    struct DenyDelete;
    impl ToolPermits for DenyDelete {
        fn permits(&self, _server: &str, tool: &str) -> bool {
            !tool.starts_with("delete")
        }
    }

    #[test]
    fn call_to_denied_tool_is_refused_and_list_is_filtered() {
        let chain = Chain::new(vec![Box::new(ToolFilterGuard::new(DenyDelete))]);
        let p = Principal::local();
        let call = Message::request(
            RequestId::Number(1),
            "tools/call",
            Some(json!({"name":"delete_all"})),
        );
        let mut ex = Exchange::new(Direction::ClientToServer, &call, &p, Era::Legacy);
        ex.server = Some("fs");
        ex.tool = Some("delete_all");
        let out = chain.run(&ex);
        assert!(
            matches!(out.decision, Decision::Deny(ref d) if d.code == DenyCode::ToolNotAllowed)
        );

        let list = Message::result(
            RequestId::Number(2),
            json!({"tools":[{"name":"read"},{"name":"delete_all"}]}),
        );
        let mut ex = Exchange::new(Direction::ServerToClient, &list, &p, Era::Legacy);
        ex.server = Some("fs");
        ex.method = Some("tools/list");
        let Decision::Rewrite(m) = chain.run(&ex).decision else {
            panic!("expected rewrite")
        };
        assert_eq!(m.result_value().unwrap()["tools"], json!([{"name":"read"}]));
    }
}
