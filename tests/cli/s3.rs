//! A real S3-compatible server for tests: `s3s-fs` on 127.0.0.1, one per test.
//!
//! It runs inside the test process (the `s3s` and `s3s-fs` crates are
//! dev-dependencies, served with hyper on a thread of its own), so `cargo
//! test` needs nothing installed first. The tool under test reaches it over
//! TCP like any other S3 endpoint. The library's unit tests include this
//! file too (`src/ledger/remote/tests.rs`).

use std::path::PathBuf;
use std::thread::JoinHandle;

use fs_err as fs;
use futures_util::future::{Either, select};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "release-log-test";

/// The secret key the server accepts: distinctive, so that a test can tell it never shows.
pub const SECRET_KEY: &str = "Zq8vN3-not-for-printing-7Kd";

/// The bucket every server starts with.
pub const BUCKET: &str = "slugs";

/// A running `s3s-fs` serving a temporary folder; stopped when dropped.
pub struct S3Server {
    data: tempfile::TempDir,
    endpoint: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl S3Server {
    /// Starts `s3s-fs` on a free port of 127.0.0.1 with bucket [`BUCKET`].
    pub fn start() -> Self {
        let data = tempfile::Builder::new()
            .prefix("release-log-s3-")
            .tempdir()
            .unwrap();
        // s3s-fs serves each folder of its root as a bucket.
        fs::create_dir(data.path().join(BUCKET)).unwrap();
        let store = s3s_fs::FileSystem::new(data.path()).expect("s3s-fs serves the folder");
        let mut service = S3ServiceBuilder::new(store);
        service.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = service.build();
        // Bound here, so that the port is known and listening before any request.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let http = ConnBuilder::new(TokioExecutor::new());
                let mut stopped = stopped;
                loop {
                    let accepted = match select(Box::pin(listener.accept()), stopped).await {
                        Either::Left((accepted, pending_stop)) => {
                            stopped = pending_stop;
                            accepted
                        }
                        Either::Right(_) => break,
                    };
                    let Ok((socket, _)) = accepted else { continue };
                    let connection = http
                        .serve_connection(TokioIo::new(socket), service.clone())
                        .into_owned();
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
            });
            // Dropping the runtime ends the connections still open.
        });
        Self {
            data,
            endpoint,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The folder that holds [`BUCKET`]'s objects, one file per key.
    pub fn bucket_dir(&self) -> PathBuf {
        self.data.path().join(BUCKET)
    }

    /// Adds bucket `name` (s3s-fs serves each folder as one) and returns its folder.
    #[allow(
        dead_code,
        reason = "the CLI tests use it; the library's unit tests do not"
    )]
    pub fn create_bucket(&self, name: &str) -> PathBuf {
        let dir = self.data.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The `AWS_*` variables a client needs to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
