//! The JSON API: handlers, their OpenAPI annotations, and the extractors that turn every
//! rejection (bad JSON, bad query, no session) into an [`ApiError`].
//!
//! Routes are registered through `utoipa_axum`'s `OpenApiRouter` with `routes!`, so a
//! route cannot exist without being in the OpenAPI document (served at
//! [`crate::OPENAPI_PATH`], checked in as `runner/serve/openapi.json`).

use crate::auth::{self, Identity, Via};
use crate::config::{Role, ServeConfig};
use crate::error::{ApiError, ErrorBody};
use crate::events::Hub;
use crate::views::*;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use planton_core::pipeline::{self as p, Decision, GateDecision, TaskState};
use planton_pipeline::StateStore;
use planton_pipeline::store::RunFilter;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Everything a handler shares.
pub struct AppState {
    /// The users and policies.
    pub config: ServeConfig,
    /// The pipeline state store.
    pub store: Arc<dyn StateStore>,
    /// Live sessions.
    pub sessions: auth::Sessions,
    /// Verified API tokens.
    pub tokens: auth::TokenCache,
    /// The sign-in rate limit.
    pub login: auth::LoginLimiter,
    /// Live run updates.
    pub hub: Hub,
    /// How often streams look for news.
    pub poll: Duration,
    /// Where live health comes from.
    pub health: Option<Arc<dyn crate::health::HealthSource>>,
    /// Recent health answers.
    pub health_cache: crate::health::HealthCache,
}

/// Shared state handle.
pub type Shared = Arc<AppState>;

/// The OpenAPI document's fixed parts (paths come from the router).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "planton pipeline API",
        description = "Runs, tasks, gate decisions and stack-job logs of planton's pipeline state store. Every error is JSON: {\"error\": {\"code\", \"message\"}}. Sign in with POST /api/login (session cookie; send X-CSRF-Token from GET /api/session on POSTs) or an API token (Authorization: Bearer).",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// The API router and its OpenAPI document.
pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(session))
        .routes(routes!(services))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(get_task))
        .routes(routes!(get_log))
        .routes(routes!(crate::events::log_stream))
        .routes(routes!(crate::events::events))
        .routes(routes!(environment_health))
        .routes(routes!(approve))
        .routes(routes!(reject))
}

// ---- extractors -------------------------------------------------------------------------

/// A JSON body whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(ApiError::new(
                e.status(),
                "bad_request",
                format!("invalid request body: {}", e.body_text()),
            )),
        }
    }
}

/// A query string whose rejections are [`ApiError`]s.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::bad_request(format!(
                "invalid query: {}",
                e.body_text()
            ))),
        }
    }
}

async fn peer(parts: &mut Parts, st: &Shared) -> Option<IpAddr> {
    // The extractor (not the raw extension) so tests' `MockConnectInfo` counts too.
    ConnectInfo::<SocketAddr>::from_request_parts(parts, st)
        .await
        .ok()
        .map(|c| c.0.ip())
}

/// The signed-in caller (401 otherwise), CSRF-checked on state-changing methods.
pub struct Caller(pub Identity);

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &Shared) -> Result<Self, ApiError> {
        let peer = peer(parts, st).await;
        let who = auth::identify(&st.config, &st.sessions, &st.tokens, &parts.headers, peer)?
            .ok_or_else(ApiError::unauthenticated)?;
        auth::check_csrf(&parts.method, &parts.headers, &who)?;
        Ok(Caller(who))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ---- handlers ---------------------------------------------------------------------------

/// Liveness: answers without signing in.
#[utoipa::path(get, path = "/api/health", tag = "server",
    responses((status = 200, body = Health)))]
async fn health() -> axum::Json<Health> {
    axum::Json(Health { ok: true })
}

fn session_view(who: &Identity) -> SessionView {
    SessionView {
        user: who.user.name.clone(),
        role: who.user.role,
        environments: who.user.environments.clone(),
        csrf_token: who.csrf.clone(),
        via: match who.via {
            Via::Session => "session",
            Via::Token => "token",
            Via::Proxy => "proxy",
            Via::Anonymous => "anonymous",
        }
        .to_string(),
    }
}

/// Signs in with a user name and password; sets the session cookie (HttpOnly,
/// SameSite=Strict). Failed attempts are rate-limited per user and per client address.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, body = SessionView, description = "Signed in; the cookie is set"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "Wrong user name or password"),
        (status = 403, body = ErrorBody, description = "Cross-site request"),
        (status = 429, body = ErrorBody, description = "Too many failed attempts; see Retry-After")))]
async fn login(
    State(st): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    auth::check_origin(&headers)?;
    let client = auth::client_addr(&st.config, &headers, addr.ip());
    st.login.check(&req.user, client)?;
    let st2 = st.clone();
    let (name, password) = (req.user.clone(), req.password);
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let ok = tokio::task::spawn_blocking(move || {
        auth::check_password(&st2.config, &name, &password).cloned()
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let Some(user) = ok else {
        st.login.failed(&req.user, client);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "wrong user name or password",
        ));
    };
    st.login.succeeded(&req.user, client);
    let (id, csrf) = st.sessions.create(&user)?;
    let who = Identity {
        user,
        via: Via::Session,
        csrf: Some(csrf),
    };
    let mut resp = axum::Json(session_view(&who)).into_response();
    if let Ok(v) = HeaderValue::from_str(&st.sessions.cookie(&id, st.config.secure_cookies)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/logout", tag = "session",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn logout(
    State(st): State<Shared>,
    Caller(_who): Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(id) = auth::session_cookie(&headers) {
        st.sessions.remove(id);
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::Sessions::clear_cookie(st.config.secure_cookies)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Who is signed in, and the CSRF token to send on POSTs.
#[utoipa::path(get, path = "/api/session", tag = "session",
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
async fn session(Caller(who): Caller) -> axum::Json<SessionView> {
    axum::Json(session_view(&who))
}

/// Query of the run list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only this service's runs.
    pub service: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<usize>,
}

/// Every service with its latest run.
#[utoipa::path(get, path = "/api/services", tag = "pipeline",
    responses((status = 200, body = Vec<ServiceView>), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn services(
    State(st): State<Shared>,
    Caller(_who): Caller,
) -> Result<axum::Json<Vec<ServiceView>>, ApiError> {
    let runs = st
        .store
        .runs(&RunFilter {
            service: None,
            limit: 500,
        })
        .await
        .map_err(ApiError::store)?;
    let mut seen = std::collections::BTreeMap::new();
    for r in &runs {
        seen.entry(r.service.clone())
            .or_insert_with(|| RunView::from(r));
    }
    Ok(axum::Json(
        seen.into_iter()
            .map(|(name, latest)| ServiceView { name, latest })
            .collect(),
    ))
}

/// The latest runs, newest first.
#[utoipa::path(get, path = "/api/runs", tag = "pipeline", params(RunsQuery),
    responses((status = 200, body = Vec<RunView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn list_runs(
    State(st): State<Shared>,
    Caller(_who): Caller,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> Result<axum::Json<Vec<RunView>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    let runs = st
        .store
        .runs(&RunFilter {
            service: q.service,
            limit,
        })
        .await
        .map_err(ApiError::store)?;
    Ok(axum::Json(runs.iter().map(RunView::from).collect()))
}

pub(crate) async fn load_run(st: &Shared, id: &str) -> Result<p::Run, ApiError> {
    st.store
        .run(id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no run `{id}`")))
}

/// One run with its tasks.
#[utoipa::path(get, path = "/api/runs/{run}", tag = "pipeline",
    params(("run" = String, Path, description = "The run id")),
    responses((status = 200, body = RunView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_run(
    State(st): State<Shared>,
    Caller(_who): Caller,
    Path(run): Path<String>,
) -> Result<axum::Json<RunView>, ApiError> {
    Ok(axum::Json(RunView::from(&load_run(&st, &run).await?)))
}

/// Whether the user's role covers the task: an approver's environments name the task's
/// environment (`metadata.env`) or its overlay name.
fn role_covers(who: &Identity, task: &p::Task) -> bool {
    who.via != Via::Anonymous && (who.user.may_decide(&task.env) || who.user.may_decide(&task.name))
}

fn may_decide(who: &Identity, task: &p::Task) -> bool {
    role_covers(who, task) && p::may_approve(&task.approvers, &who.user.name)
}

/// One task in full: its manifest, the diff against the last successful deploy of the same
/// overlay, its gate and decisions.
#[utoipa::path(get, path = "/api/runs/{run}/tasks/{task}", tag = "pipeline",
    params(("run" = String, Path, description = "The run id"), ("task" = String, Path, description = "The task (overlay) name")),
    responses((status = 200, body = TaskDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_task(
    State(st): State<Shared>,
    Caller(who): Caller,
    Path((run_id, task_name)): Path<(String, String)>,
) -> Result<axum::Json<TaskDetail>, ApiError> {
    let run = load_run(&st, &run_id).await?;
    let task = run
        .task(&task_name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("run `{run_id}` has no task `{task_name}`")))?;
    let decisions = st.store.decisions(&run.id).await.map_err(ApiError::store)?;
    let previous = st
        .store
        .runs(&RunFilter {
            service: Some(run.service.clone()),
            limit: 200,
        })
        .await
        .map_err(ApiError::store)?
        .into_iter()
        .filter(|r| r.id != run.id && r.created_at < run.created_at)
        .find_map(|r| {
            r.task(&task.name)
                .filter(|t| t.result == Some(p::TaskResult::Succeeded))
                .map(|t| (r.id.clone(), t.manifest_yaml.clone()))
        });
    let (previous_run, old) = match previous {
        Some((id, yaml)) => (Some(id), yaml),
        None => (None, String::new()),
    };
    let diff = similar::TextDiff::from_lines(&old, &task.manifest_yaml)
        .unified_diff()
        .context_radius(3)
        .header(
            &previous_run
                .as_ref()
                .map(|r| format!("run {r}"))
                .unwrap_or_else(|| "nothing deployed".to_string()),
            &format!("run {}", run.id),
        )
        .to_string();
    let mine: Vec<Decision> = decisions
        .into_iter()
        .filter(|d| d.task == task.name)
        .collect();
    let gate = gate_view(&run, &task, &mine, now_ms(), may_decide(&who, &task));
    Ok(axum::Json(TaskDetail {
        run: RunView::from(&run),
        task: TaskView::from(&task),
        manifest_yaml: task.manifest_yaml.clone(),
        diff,
        previous_run,
        gate,
        decisions: mine.iter().map(DecisionView::from).collect(),
    }))
}

/// Live health of an environment of a service, asked of its cluster: the newest run's task
/// for that environment (`metadata.env`, or the overlay name) says where it lives; the
/// namespace and kubeconfig context are resolved from the service's `planton.yaml` as
/// `planton status` does, and `health` is exactly what `planton status --output json`
/// prints for it. Answers are reused for about a second and a half.
#[utoipa::path(get, path = "/api/services/{service}/environments/{env}/health", tag = "live",
    params(("service" = String, Path, description = "The service name"),
        ("env" = String, Path, description = "The environment (`metadata.env`) or overlay name")),
    responses((status = 200, body = EnvironmentHealth), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No run of the service, or no such environment"),
        (status = 502, body = ErrorBody, description = "`cluster_unreachable` or `cluster`: the cluster (or AWS, for ECS) did not answer, or refused"),
        (status = 503, body = ErrorBody, description = "`no_cluster`: this server has no cluster configured for it")))]
async fn environment_health(
    State(st): State<Shared>,
    Caller(_who): Caller,
    Path((service, env)): Path<(String, String)>,
) -> Result<axum::Json<EnvironmentHealth>, ApiError> {
    let run = st
        .store
        .runs(&RunFilter {
            service: Some(service.clone()),
            limit: 1,
        })
        .await
        .map_err(ApiError::store)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no run of service `{service}`")))?;
    let task = run
        .tasks
        .iter()
        .find(|t| t.env == env)
        .or_else(|| run.tasks.iter().find(|t| t.name == env))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "service `{service}` has no environment `{env}` (its newest run {} has: {})",
                run.id,
                run.tasks
                    .iter()
                    .map(|t| t.env.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let Some(source) = &st.health else {
        return Err(crate::health::HealthError::NotConfigured(
            "this server reads no cluster: live health needs `planton serve` (which reads the service's planton.yaml and kubeconfig)".into(),
        )
        .into());
    };
    Ok(axum::Json(
        st.health_cache.get(source.as_ref(), &run, task).await?,
    ))
}

/// Query of a log read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Read from this byte offset (default 0).
    pub offset: Option<u64>,
}

/// A task's stack-job log from an offset (follow it live with `/log/stream`).
#[utoipa::path(get, path = "/api/runs/{run}/tasks/{task}/log", tag = "pipeline",
    params(("run" = String, Path, description = "The run id"), ("task" = String, Path, description = "The task name"), LogQuery),
    responses((status = 200, body = LogView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_log(
    State(st): State<Shared>,
    Caller(_who): Caller,
    Path((run_id, task_name)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<axum::Json<LogView>, ApiError> {
    let run = load_run(&st, &run_id).await?;
    let task = run
        .task(&task_name)
        .ok_or_else(|| ApiError::not_found(format!("run `{run_id}` has no task `{task_name}`")))?;
    let complete = task.is_completed();
    let offset = q.offset.unwrap_or(0);
    let chunk = st
        .store
        .log(&run_id, &task_name, offset)
        .await
        .map_err(ApiError::store)?;
    Ok(axum::Json(LogView {
        text: chunk.text,
        next_offset: chunk.next,
        complete,
    }))
}

/// Approves a gated task. The digest and image must be the pending ones (409 otherwise);
/// the caller must be allowed to approve the task's environment (403 otherwise).
#[utoipa::path(post, path = "/api/runs/{run}/tasks/{task}/approve", tag = "gates",
    params(("run" = String, Path, description = "The run id"), ("task" = String, Path, description = "The task name"),
        ("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")),
    request_body = DecideRequest,
    responses((status = 200, body = DecisionView, description = "Recorded"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Not allowed, or CSRF check failed"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Not awaiting approval, or a stale digest or image")))]
async fn approve(
    State(st): State<Shared>,
    Caller(who): Caller,
    Path((run, task)): Path<(String, String)>,
    ApiJson(req): ApiJson<DecideRequest>,
) -> Result<axum::Json<DecisionView>, ApiError> {
    decide(st, who, run, task, req, GateDecision::Yes).await
}

/// Rejects a gated task (the run fails). Same rules as approve.
#[utoipa::path(post, path = "/api/runs/{run}/tasks/{task}/reject", tag = "gates",
    params(("run" = String, Path, description = "The run id"), ("task" = String, Path, description = "The task name"),
        ("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")),
    request_body = DecideRequest,
    responses((status = 200, body = DecisionView, description = "Recorded"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn reject(
    State(st): State<Shared>,
    Caller(who): Caller,
    Path((run, task)): Path<(String, String)>,
    ApiJson(req): ApiJson<DecideRequest>,
) -> Result<axum::Json<DecisionView>, ApiError> {
    decide(st, who, run, task, req, GateDecision::No).await
}

async fn decide(
    st: Shared,
    who: Identity,
    run_id: String,
    task_name: String,
    req: DecideRequest,
    decision: GateDecision,
) -> Result<axum::Json<DecisionView>, ApiError> {
    let run = load_run(&st, &run_id).await?;
    let task = run
        .task(&task_name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("run `{run_id}` has no task `{task_name}`")))?;
    if who.user.role == Role::Viewer || who.via == Via::Anonymous {
        return Err(ApiError::forbidden(format!(
            "`{}` is a viewer: only approvers and admins decide gates",
            who.user.name
        )));
    }
    if !role_covers(&who, &task) {
        return Err(ApiError::forbidden(format!(
            "`{}` may not approve environment `{}` (approves: {})",
            who.user.name,
            task.env,
            who.user.environments.join(", ")
        )));
    }
    if !p::may_approve(&task.approvers, &who.user.name) {
        return Err(ApiError::forbidden(format!(
            "`{}` is not among the approvers planton.yaml names for `{}`: {}",
            who.user.name,
            task.name,
            task.approvers.join(", ")
        )));
    }
    if task.state != TaskState::AwaitingApproval {
        return Err(ApiError::conflict(
            "not_pending",
            format!(
                "task `{}` is not awaiting approval (it is {})",
                task.name, task.state
            ),
        ));
    }
    if req.digest != task.manifest_digest {
        return Err(ApiError::conflict(
            "stale_digest",
            format!(
                "the manifest changed since you reviewed it: you reviewed {}, the task now deploys {}; review again",
                req.digest, task.manifest_digest
            ),
        ));
    }
    if req.image != run.image {
        return Err(ApiError::conflict(
            "stale_image",
            format!(
                "the image changed since you reviewed it: you reviewed {}, the run deploys {}",
                req.image, run.image
            ),
        ));
    }
    let comment = req.comment.filter(|c| !c.trim().is_empty());
    if comment.as_ref().is_some_and(|c| c.len() > 4000) {
        return Err(ApiError::bad_request(
            "the comment is longer than 4000 bytes",
        ));
    }
    // The store has the last word on who decides: the in-cluster store asks Kubernetes RBAC
    // whether this server's own credentials may approve the gate, and names them; the
    // decision then records both the user and the server's identity.
    let store_says = st
        .store
        .decider(&who.user.name, &run, &task)
        .await
        .map_err(|e| match e {
            planton_pipeline::Error::Forbidden { .. } => ApiError::forbidden(e.to_string()),
            e => ApiError::store(e),
        })?;
    let by = if store_says == who.user.name {
        store_says
    } else {
        format!("{} via {store_says}", who.user.name)
    };
    let d = Decision {
        run_id: run.id.clone(),
        task: task.name.clone(),
        decision,
        by,
        at: now_ms(),
        comment,
        manifest_digest: task.manifest_digest.clone(),
        image: run.image.clone(),
    };
    st.store.add_decision(&d).await.map_err(ApiError::store)?;
    st.hub.poke();
    Ok(axum::Json(DecisionView::from(&d)))
}

/// The answer for a method a route does not have.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed here: see the API document at {}",
            crate::OPENAPI_PATH
        ),
    )
}

/// The answer for an unknown API path.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no such endpoint {}: see the API document at {}",
        uri.path(),
        crate::OPENAPI_PATH
    ))
}
