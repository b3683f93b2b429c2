//! The live event stream: every decision record as it happens, over Server-Sent Events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use futures::StreamExt;
use sallyport_pipeline::{DecisionRecord, Outcome};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use utoipa::IntoParams;

use super::Authed;
use crate::error::ErrorBody;
use crate::extract::Params;
use crate::state::AdminState;

/// Which records to stream.
#[derive(Debug, Default, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventFilter {
    /// Only denied and held messages (default: every message).
    pub denied: Option<bool>,
}

/// Streams decision records as `event: decision` with the record's JSON as data; a
/// subscriber that falls behind gets `event: lagged` with how many it missed.
#[utoipa::path(get, operation_id = "events_stream", path = "/admin/events", tag = "control", params(EventFilter),
    responses((status = 200, content_type = "text/event-stream", description = "Server-Sent Events: `decision` (a decision record's JSON) and `lagged`"),
              (status = 401, body = ErrorBody)))]
pub(crate) async fn stream(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    Params(filter): Params<EventFilter>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    decision_stream(&state, filter)
}

/// The SSE response over the bus, filtered.
pub(crate) fn decision_stream(
    state: &AdminState,
    filter: EventFilter,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let denied_only = filter.denied.unwrap_or(false);
    let stream = BroadcastStream::new(state.bus.subscribe()).filter_map(move |item| {
        let event = match item {
            Ok(record) if denied_only && !is_refusal(&record) => None,
            Ok(record) => serde_json::to_string(&*record)
                .ok()
                .map(|json| Event::default().event("decision").data(json)),
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                Some(Event::default().event("lagged").data(n.to_string()))
            }
        };
        std::future::ready(event.map(Ok))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn is_refusal(record: &DecisionRecord) -> bool {
    matches!(record.outcome, Outcome::Deny | Outcome::Hold)
}
