//! A real S3-compatible server for tests: `s3s-fs` on 127.0.0.1, one per test.
//!
//! `.ci/s3-server install` installs it; a test that needs it and does not
//! find it fails and says so (CI installs it, so a skip would hide a gap).
//! The library's unit tests include this file too (`src/ledger/remote.rs`),
//! so it uses nothing but std, `fs_err` and `tempfile`.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use fs_err as fs;

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "release-log-test";

/// The secret key the server accepts: distinctive, so that a test can tell it never shows.
pub const SECRET_KEY: &str = "Zq8vN3-not-for-printing-7Kd";

/// The bucket every server starts with.
pub const BUCKET: &str = "slugs";

/// A running `s3s-fs` serving a temporary folder; killed when dropped.
pub struct S3Server {
    child: Child,
    data: tempfile::TempDir,
    endpoint: String,
}

/// Where `.ci/s3-server install` puts `s3s-fs`: `<target dir>/ci-tools/bin/`.
pub fn s3s_fs_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("S3S_FS") {
        return path.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("ci-tools/bin/s3s-fs")
}

impl S3Server {
    /// Starts `s3s-fs` on a free port of 127.0.0.1 with bucket [`BUCKET`].
    pub fn start() -> Self {
        let binary = s3s_fs_binary();
        assert!(
            binary.is_file(),
            "the S3 tests need `s3s-fs`, which is not at `{}`: run `.ci/s3-server install` \
             first (it builds it from crates.io in 2-5 minutes)",
            binary.display()
        );
        let data = tempfile::Builder::new()
            .prefix("release-log-s3-")
            .tempdir()
            .unwrap();
        // s3s-fs serves each folder of its root as a bucket.
        fs::create_dir(data.path().join(BUCKET)).unwrap();
        // Port 0: the system picks a free port, which the server logs once it listens.
        let mut child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(data.path())
            .env("RUST_LOG", "s3s_fs=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start `{}`: {e}", binary.display()));
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let errors = Arc::new(Mutex::new(String::new()));
        let errors_written = Arc::clone(&errors);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            *errors_written.lock().unwrap() = text;
        });
        let (tx, rx) = mpsc::channel();
        // Reads the log to the end, so that a full pipe never blocks the server.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(endpoint) = listening_at(&line) {
                    sent = tx.send(endpoint).is_ok();
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(endpoint) => Self {
                child,
                data,
                endpoint,
            },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                // Give the reader a moment to collect what the server said.
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "`{}` did not start listening ({status:?}):\n{}",
                    binary.display(),
                    errors.lock().unwrap()
                );
            }
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The endpoint of s3s-fs's `server is running at http://127.0.0.1:PORT` line.
fn listening_at(line: &str) -> Option<String> {
    let at = line.find("server is running at http://")? + "server is running at ".len();
    let endpoint = line[at..].split_whitespace().next()?;
    Some(endpoint.to_owned())
}
