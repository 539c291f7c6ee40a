//! The state store contract as one async check, run against every [`StateStore`]
//! implementation (the SQLite store in this crate's tests, the cluster store against the
//! testenv), so both keep the same behaviour. It panics with a message on the first
//! difference, as a test helper does.

use crate::store::{LockOutcome, RunFilter, StateStore, run_lock_key};
use planton_core::pipeline::{
    Decision, GateDecision, Lock, Run, RunState, Task, TaskEvent, TaskResult, TaskState,
};

/// A run of `service` with a `staging` task and a gated `prod` task.
pub fn sample_run(service: &str) -> Run {
    let mut prod = Task::new("prod", "app-prod", "MicroserviceKubernetes", "sha256:bb");
    prod.requires_manual_gate = true;
    prod.approvers = vec!["alice".into()];
    let mut staging = Task::new(
        "staging",
        "app-staging",
        "MicroserviceKubernetes",
        "sha256:aa",
    );
    staging.manifest_yaml = "apiVersion: x\nkind: MicroserviceKubernetes\n".into();
    Run {
        id: String::new(),
        service: service.into(),
        service_dir: "/srv/order-api".into(),
        image: "ghcr.io/acme/order-api:1".into(),
        created_by: "ci@runner".into(),
        created_at: 1_000,
        ended_at: None,
        state: RunState::Queued,
        result: None,
        error: None,
        dry_run: false,
        executor: "local".into(),
        tasks: vec![staging, prod],
    }
}

/// Checks runs, decisions, logs and locks. `service` should be unique to the call, so a
/// shared store (a cluster namespace) does not mix calls.
pub async fn check_store(store: &dyn StateStore, service: &str) {
    let d = store.describe();
    // Runs: ids are assigned and distinct; a saved run reads back whole; newest first.
    let a = store
        .create_run(sample_run(service))
        .await
        .expect("create run");
    let b = store
        .create_run(sample_run(service))
        .await
        .expect("create run");
    assert!(
        !a.id.is_empty() && a.id != b.id,
        "{d}: run ids {:?} {:?}",
        a.id,
        b.id
    );
    assert_eq!(
        store.run(&a.id).await.expect("read"),
        Some(a.clone()),
        "{d}"
    );
    assert_eq!(store.run("no-such-run").await.expect("read"), None, "{d}");
    let mut a2 = a.clone();
    a2.tasks[0]
        .apply(TaskEvent::Start { at: 2_000 })
        .expect("start");
    a2.tasks[0]
        .apply(TaskEvent::Finished {
            at: 3_000,
            result: TaskResult::Succeeded,
            error: None,
        })
        .expect("finish");
    a2.tasks[1]
        .apply(TaskEvent::AwaitApproval {
            expires_at: Some(9_000),
        })
        .expect("gate");
    a2.derive(3_000);
    store.save_run(&a2).await.expect("save");
    let back = store.run(&a.id).await.expect("read").expect("run");
    assert_eq!(back, a2, "{d}: the saved run reads back whole");
    assert_eq!(back.state, RunState::AwaitingApproval);
    assert_eq!(back.tasks[1].state, TaskState::AwaitingApproval);
    let listed = store
        .runs(&RunFilter {
            service: Some(service.into()),
            limit: 0,
        })
        .await
        .expect("list");
    let ids: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [b.id.as_str(), a.id.as_str()], "{d}: newest first");
    let one = store
        .runs(&RunFilter {
            service: Some(service.into()),
            limit: 1,
        })
        .await
        .expect("list");
    assert_eq!(one.len(), 1, "{d}: limit");
    let mut missing = a2.clone();
    missing.id = "999999".into();
    assert!(
        store.save_run(&missing).await.is_err(),
        "{d}: saving an unknown run fails"
    );

    // Decisions: append-only, oldest first, per run.
    let dec = |decision, at| Decision {
        run_id: a.id.clone(),
        task: "prod".into(),
        decision,
        by: "alice".into(),
        at,
        comment: Some("looks good: ünïcode".into()),
        manifest_digest: "sha256:bb".into(),
        image: "ghcr.io/acme/order-api:1".into(),
    };
    store
        .add_decision(&dec(GateDecision::No, 4_000))
        .await
        .expect("decide");
    store
        .add_decision(&dec(GateDecision::Yes, 5_000))
        .await
        .expect("decide");
    let ds = store.decisions(&a.id).await.expect("decisions");
    assert_eq!(
        ds,
        vec![dec(GateDecision::No, 4_000), dec(GateDecision::Yes, 5_000)],
        "{d}"
    );
    assert!(
        store.decisions(&b.id).await.expect("decisions").is_empty(),
        "{d}"
    );

    // Logs: appended per task, read from an offset.
    store
        .append_log(&a.id, "staging", "line 1\n")
        .await
        .expect("log");
    store
        .append_log(&a.id, "staging", "line 2 ✓\n")
        .await
        .expect("log");
    store
        .append_log(&a.id, "prod", "other task\n")
        .await
        .expect("log");
    let all = store.log(&a.id, "staging", 0).await.expect("log");
    assert_eq!(all.text, "line 1\nline 2 ✓\n", "{d}");
    let tail = store.log(&a.id, "staging", 7).await.expect("log");
    assert_eq!(tail.text, "line 2 ✓\n", "{d}");
    assert_eq!(tail.next, all.next);
    store
        .append_log(&a.id, "staging", "line 3\n")
        .await
        .expect("log");
    let more = store.log(&a.id, "staging", all.next).await.expect("log");
    assert_eq!(more.text, "line 3\n", "{d}: following from the last offset");
    assert_eq!(
        store.log(&a.id, "none", 0).await.expect("log").text,
        "",
        "{d}"
    );

    // Locks: free → taken; held by another → refused with the holder; stale taken over only
    // by naming it exactly; renew and release only by the owner.
    let key = format!("{service}/app-staging");
    let mine = Lock {
        key: key.clone(),
        owner: "runner-1@host:1".into(),
        run_id: a.id.clone(),
        acquired_at: 10,
        expires_at: 1_000,
    };
    let theirs = Lock {
        owner: "runner-2@host:2".into(),
        run_id: b.id.clone(),
        ..mine.clone()
    };
    assert_eq!(
        store.acquire_lock(&mine, None).await.expect("lock"),
        LockOutcome::Acquired { took_over: None },
        "{d}"
    );
    assert_eq!(
        store.acquire_lock(&theirs, None).await.expect("lock"),
        LockOutcome::Held(mine.clone()),
        "{d}"
    );
    let wrong = Lock {
        expires_at: 5,
        ..mine.clone()
    };
    assert_eq!(
        store
            .acquire_lock(&theirs, Some(&wrong))
            .await
            .expect("lock"),
        LockOutcome::Held(mine.clone()),
        "{d}: take-over needs the exact lock"
    );
    assert!(
        store
            .renew_lock(&key, &mine.owner, 2_000)
            .await
            .expect("renew"),
        "{d}"
    );
    assert!(
        !store
            .renew_lock(&key, &theirs.owner, 3_000)
            .await
            .expect("renew"),
        "{d}"
    );
    let renewed = Lock {
        expires_at: 2_000,
        ..mine.clone()
    };
    assert_eq!(
        store
            .locks()
            .await
            .expect("locks")
            .iter()
            .filter(|l| l.key == key)
            .count(),
        1
    );
    assert_eq!(
        store
            .acquire_lock(&theirs, Some(&renewed))
            .await
            .expect("lock"),
        LockOutcome::Acquired {
            took_over: Some(renewed.clone())
        },
        "{d}"
    );
    store
        .release_lock(&key, &mine.owner)
        .await
        .expect("release");
    assert!(
        store
            .locks()
            .await
            .expect("locks")
            .iter()
            .any(|l| l.key == key && l.owner == theirs.owner),
        "{d}: release by a non-owner does nothing"
    );
    store
        .release_lock(&key, &theirs.owner)
        .await
        .expect("release");
    assert!(
        !store
            .locks()
            .await
            .expect("locks")
            .iter()
            .any(|l| l.key == key),
        "{d}"
    );
    let rk = run_lock_key(&a.id);
    let run_lock = Lock {
        key: rk.clone(),
        ..mine.clone()
    };
    assert_eq!(
        store.acquire_lock(&run_lock, None).await.expect("lock"),
        LockOutcome::Acquired { took_over: None }
    );
    store.release_lock(&rk, &mine.owner).await.expect("release");
}
