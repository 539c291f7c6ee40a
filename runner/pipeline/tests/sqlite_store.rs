//! The SQLite store against the store contract, and what only a file-backed store can show:
//! a second process (here: a second connection) sees committed state, and the database
//! survives a writer that vanished.

use planton_pipeline::sqlite::SqliteStore;
use planton_pipeline::store::{LockOutcome, StateStore};
use planton_pipeline::testing::{check_store, sample_run};

#[tokio::test]
async fn sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::for_service(dir.path()).expect("open");
    assert!(dir.path().join(".planton/state.db").exists());
    check_store(&store, "order-api").await;
    // Two services in one database do not see each other's runs.
    check_store(&store, "billing").await;
}

#[tokio::test]
async fn two_connections_share_runs_and_contend_for_locks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let one = SqliteStore::for_service(dir.path()).expect("open");
    let two = SqliteStore::for_service(dir.path()).expect("open again");
    let run = one.create_run(sample_run("svc")).await.expect("create");
    assert_eq!(two.run(&run.id).await.expect("read"), Some(run.clone()));
    let lock = |owner: &str| planton_core::pipeline::Lock {
        key: "svc/app-staging".into(),
        owner: owner.into(),
        run_id: run.id.clone(),
        acquired_at: 0,
        expires_at: 10,
    };
    assert_eq!(
        one.acquire_lock(&lock("a"), None).await.expect("lock"),
        LockOutcome::Acquired { took_over: None }
    );
    assert_eq!(
        two.acquire_lock(&lock("b"), None).await.expect("lock"),
        LockOutcome::Held(lock("a"))
    );
    drop(one);
    // Reopened after the first writer is gone: the state is there.
    let three = SqliteStore::for_service(dir.path()).expect("reopen");
    assert_eq!(three.locks().await.expect("locks"), vec![lock("a")]);
}

#[tokio::test]
async fn a_damaged_record_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::for_service(dir.path()).expect("open");
    let run = store.create_run(sample_run("svc")).await.expect("create");
    let conn = rusqlite_conn(&dir.path().join(".planton/state.db"));
    conn.execute(
        "UPDATE runs SET body = '{\"id\": 1' WHERE id = ?1",
        [&run.id],
    )
    .expect("damage");
    let err = store.run(&run.id).await.expect_err("damaged").to_string();
    assert!(
        err.contains(&format!("stored run {} does not read", run.id)),
        "{err}"
    );
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open db")
}
