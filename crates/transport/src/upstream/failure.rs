//! Which answers are failures for circuit breakers, marked where the gateway synthesizes
//! them (transport errors, upstream 5xx) and read back by [`ReplyStream`](super::ReplyStream).
//!
//! The mark is a member of the message object that never leaves the gateway: the reply
//! stream removes it before anyone else sees the message.

use sallyport_limits::CallFailure;
use sallyport_mcp::Message;

/// The member carrying the mark.
const MEMBER: &str = "_sallyport_failure";

/// Marks `msg` as a failure of kind `failure`.
pub(crate) fn mark(msg: &mut Message, failure: CallFailure) {
    let name = match failure {
        CallFailure::Transport => "transport",
        CallFailure::Timeout => "timeout",
        CallFailure::UpstreamServerError => "upstream_5xx",
    };
    msg.as_object_mut().insert(MEMBER.into(), name.into());
}

/// Removes the mark from `msg` and returns it.
pub(crate) fn take(msg: &mut Message) -> Option<CallFailure> {
    let value = msg.as_object_mut().remove(MEMBER)?;
    Some(match value.as_str() {
        Some("timeout") => CallFailure::Timeout,
        Some("upstream_5xx") => CallFailure::UpstreamServerError,
        _ => CallFailure::Transport,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_leave_nothing_behind() {
        let plain = Message::error(None, -32603, "boom", None);
        for kind in [
            CallFailure::Transport,
            CallFailure::Timeout,
            CallFailure::UpstreamServerError,
        ] {
            let mut msg = plain.clone();
            mark(&mut msg, kind);
            assert_eq!(take(&mut msg), Some(kind));
            assert_eq!(msg, plain);
        }
        assert_eq!(take(&mut plain.clone()), None);
    }
}
