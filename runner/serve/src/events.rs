//! Live updates by Server-Sent Events: run changes ([`Hub`], `/api/events`) and a task's
//! log as it grows (`/api/runs/{run}/tasks/{task}/log/stream`).
//!
//! The state store may be written by other processes (the runner doing the deploy), so
//! the server polls it: one [`Hub`] task per server reads the latest runs every poll
//! interval (250 ms by default) while anyone listens, and broadcasts each run whose view
//! changed to every subscriber. Many viewers of one run therefore cost one store read per
//! interval, not one each. A subscriber that falls behind gets a fresh snapshot.

use crate::api::{ApiQuery, Caller, Shared, load_run};
use crate::error::ApiError;
use crate::views::{LogView, RunView};
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use planton_pipeline::StateStore;
use planton_pipeline::store::RunFilter;
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast};
use utoipa::IntoParams;

/// How many runs the hub watches (the newest).
const WATCHED_RUNS: usize = 50;

fn watched() -> RunFilter {
    RunFilter {
        service: None,
        limit: WATCHED_RUNS,
    }
}

/// Broadcasts run changes to every live-update subscriber.
pub struct Hub {
    tx: broadcast::Sender<Arc<RunView>>,
    poke: Arc<Notify>,
}

impl Hub {
    /// Starts the polling task on the current tokio runtime.
    pub fn start(store: Arc<dyn StateStore>, poll: Duration) -> Hub {
        let (tx, _) = broadcast::channel(256);
        let poke = Arc::new(Notify::new());
        let (tx2, poke2) = (tx.clone(), poke.clone());
        tokio::spawn(async move {
            let mut last: HashMap<String, Arc<RunView>> = HashMap::new();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = poke2.notified() => {}
                }
                if tx2.receiver_count() == 0 {
                    last.clear();
                    continue;
                }
                let runs = match store.runs(&watched()).await {
                    Ok(r) => r,
                    // A failing store is reported to clients on their next request; the
                    // stream just carries on.
                    Err(_) => continue,
                };
                for r in &runs {
                    let v = RunView::from(r);
                    if last.get(&v.id).is_none_or(|old| **old != v) {
                        let v = Arc::new(v);
                        last.insert(v.id.clone(), v.clone());
                        // Sending fails only when nobody listens: nothing to do then.
                        let _ = tx2.send(v);
                    }
                }
                if last.len() > WATCHED_RUNS * 4 {
                    let keep: std::collections::HashSet<&str> =
                        runs.iter().map(|r| r.id.as_str()).collect();
                    last.retain(|k, _| keep.contains(k.as_str()));
                }
            }
        });
        Hub { tx, poke }
    }

    /// Looks at the store now (after this server changed it).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<RunView>> {
        self.tx.subscribe()
    }
}

/// Query of the event stream.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only this run's changes.
    pub run: Option<String>,
}

fn run_event(v: &RunView) -> Event {
    Event::default()
        .event("run")
        .id(format!("{}:{}", v.id, v.tasks.len()))
        .json_data(v)
        .unwrap_or_else(|_| Event::default().event("run"))
}

/// Live run updates (Server-Sent Events): a `run` event carrying the run's JSON
/// (`RunView`) for each run's current state, then `ready`, then a `run` event each time one
/// changes.
#[utoipa::path(get, path = "/api/events", tag = "live", params(EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`event: run` with a RunView as data for the current runs, `event: ready`, then `event: run` on every change"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn events(
    State(st): State<Shared>,
    Caller(_who): Caller,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let rx = st.hub.subscribe();
    st.hub.poke();
    let snapshot: Vec<RunView> = match &q.run {
        Some(id) => vec![RunView::from(&load_run(&st, id).await?)],
        None => st
            .store
            .runs(&watched())
            .await
            .map_err(ApiError::store)?
            .iter()
            .map(RunView::from)
            .collect(),
    };
    let filter = q.run;
    let stream = futures::stream::unfold(
        (
            rx,
            // Sent first (popped from the end): the current runs, then `ready`.
            std::iter::once(Event::default().event("ready").data("{}"))
                .chain(snapshot.iter().rev().map(run_event))
                .collect::<Vec<_>>(),
            st,
            filter,
        ),
        |(mut rx, mut pending, st, filter)| async move {
            loop {
                if let Some(ev) = pending.pop() {
                    return Some((Ok(ev), (rx, pending, st, filter)));
                }
                match rx.recv().await {
                    Ok(v) => {
                        if filter.as_ref().is_none_or(|f| *f == v.id) {
                            return Some((Ok(run_event(&v)), (rx, pending, st, filter)));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind: send the current state of what is followed.
                        if let Some(id) = &filter
                            && let Ok(r) = load_run(&st, id).await
                        {
                            pending.push(run_event(&RunView::from(&r)));
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A task's log as it grows (Server-Sent Events): `log` events with a `LogView` as data,
/// then one `end` event once the task is completed and its log fully sent.
#[utoipa::path(get, path = "/api/runs/{run}/tasks/{task}/log/stream", tag = "live",
    params(("run" = String, Path, description = "The run id"), ("task" = String, Path, description = "The task name")),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`event: log` with a LogView as data; `event: end` when the task is completed"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn log_stream(
    State(st): State<Shared>,
    Caller(_who): Caller,
    Path((run_id, task_name)): Path<(String, String)>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let run = load_run(&st, &run_id).await?;
    if run.task(&task_name).is_none() {
        return Err(ApiError::not_found(format!(
            "run `{run_id}` has no task `{task_name}`"
        )));
    }
    let poll = st.poll;
    // (state, offset, finished)
    let stream = futures::stream::unfold(
        (st, run_id, task_name, 0u64, false, true),
        move |(st, run_id, task, offset, done, first)| async move {
            if done {
                return None;
            }
            loop {
                if !first {
                    tokio::time::sleep(poll).await;
                }
                let complete = match load_run(&st, &run_id).await {
                    Ok(r) => r.task(&task).is_none_or(|t| t.is_completed()),
                    Err(_) => true,
                };
                let chunk = match st.store.log(&run_id, &task, offset).await {
                    Ok(c) => c,
                    _ => {
                        let ev = Event::default()
                            .event("end")
                            .data("the log could not be read");
                        return Some((Ok(ev), (st, run_id, task, offset, true, false)));
                    }
                };
                if !chunk.text.is_empty() {
                    let view = LogView {
                        text: chunk.text,
                        next_offset: chunk.next,
                        complete,
                    };
                    let ev = Event::default()
                        .event("log")
                        .json_data(&view)
                        .unwrap_or_else(|_| Event::default().event("log"));
                    return Some((Ok(ev), (st, run_id, task, chunk.next, false, false)));
                }
                if complete {
                    let ev = Event::default().event("end").data("complete");
                    return Some((Ok(ev), (st, run_id, task, offset, true, false)));
                }
                if first {
                    tokio::time::sleep(poll).await;
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
