//! TLS on the server's one port (gRPC, the HTTP API and the UI), mutual TLS, reloading the
//! certificate on SIGHUP, and the refusals: plain text, an untrusted certificate, a client
//! without a certificate, files that do not load.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use serde_json::json;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

fn baton(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env_remove("BATON_SERVER")
        .env_remove("BATON_CA_FILE")
        .env_remove("BATON_CLIENT_CERT")
        .env_remove("BATON_CLIENT_KEY")
        .output()
        .expect("run baton");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `baton tls init` into `dir`.
fn make_certs(dir: &Path) -> PathBuf {
    let (ok, out, err) = baton(&["tls", "init", "--dir", dir.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    dir.to_path_buf()
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

fn https(server: &Server) -> String {
    let port = server.addr.rsplit(':').next().unwrap();
    format!("https://localhost:{port}")
}

fn start_tls(data: &Path, certs: &Path, extra: &[&str]) -> Server {
    let (cert, key) = (p(certs, "server.pem"), p(certs, "server-key.pem"));
    let mut flags = vec!["--tls-cert", &cert, "--tls-key", &key];
    flags.extend_from_slice(extra);
    Server::start_with(data, "127.0.0.1:0", &flags)
}

async fn tls_channel(
    server: &Server,
    ca: &Path,
    identity: Option<&Path>,
) -> Result<Channel, tonic::transport::Error> {
    let mut config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()))
        .domain_name("localhost");
    if let Some(dir) = identity {
        config = config.identity(Identity::from_pem(
            std::fs::read(dir.join("client.pem")).unwrap(),
            std::fs::read(dir.join("client-key.pem")).unwrap(),
        ));
    }
    Channel::from_shared(https(server))
        .unwrap()
        .tls_config(config)?
        .connect()
        .await
}

/// One gRPC call over a fresh connection: whether it succeeded.
async fn call_ok(server: &Server, ca: &Path, identity: Option<&Path>) -> bool {
    let Ok(ch) = tls_channel(server, ca, identity).await else {
        return false;
    };
    MetadataServiceClient::new(ch)
        .list_task_defs(pb::ListTaskDefsRequest::default())
        .await
        .is_ok()
}

fn https_client(ca: &Path, identity: Option<&Path>, http1: bool) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap()]);
    if let Some(dir) = identity {
        let mut pem = std::fs::read(dir.join("client.pem")).unwrap();
        pem.extend(std::fs::read(dir.join("client-key.pem")).unwrap());
        b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    if http1 {
        b = b.http1_only();
    }
    b.build().unwrap()
}

#[tokio::test]
async fn grpc_http_and_the_ui_share_the_tls_port() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(&dir.path().join("certs"));
    let server = start_tls(&dir.path().join("data"), &certs, &[]);
    let url = https(&server);
    let ca = p(&certs, "ca.pem");

    // The CLI over TLS: definitions in, a run started.
    let defs = dir.path().join("defs.json");
    std::fs::write(
        &defs,
        json!([
            {"name": "tls_task", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": "tls_wf", "version": 1, "tasks": [{"name": "tls_task", "taskReferenceName": "t"}],
             "outputParameters": {"said": "${t.output.said}"}}
        ])
        .to_string(),
    )
    .unwrap();
    let (ok, out, err) = baton(&[
        "def",
        "apply",
        "-f",
        defs.to_str().unwrap(),
        "--server",
        &url,
        "--ca-file",
        &ca,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = baton(&[
        "workflow",
        "start",
        "tls_wf",
        "--server",
        &url,
        "--ca-file",
        &ca,
    ]);
    assert!(ok, "{out}{err}");
    let id = out.split_whitespace().last().unwrap().to_string();

    // A worker on the task stream over TLS completes it.
    let ch = tls_channel(&server, &certs.join("ca.pem"), None)
        .await
        .expect("TLS channel");
    let handler: Handler =
        Arc::new(|_t: &pb::TaskAssignment| Action::Complete(json!({"said": "hi"})));
    let (_w, _) = spawn_worker(ch.clone(), &["tls_task"], 2, handler);
    let wf = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&wf), pb::WorkflowStatus::Completed, "{wf:#?}");
    assert_eq!(output(&wf)["said"], "hi");

    // The HTTP API over HTTP/2 and HTTP/1.1, and the UI.
    for http1 in [false, true] {
        let client = https_client(&certs.join("ca.pem"), None, http1);
        let resp = client
            .get(format!("{url}/api/workflow/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.version(),
            if http1 {
                reqwest::Version::HTTP_11
            } else {
                reqwest::Version::HTTP_2
            }
        );
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        assert_eq!(body["status"], "COMPLETED", "{body}");
        let page = client.get(format!("{url}/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("<html"));
    }

    // Plain text to the TLS port is told to use https, and nothing answers it otherwise.
    let plain = http_client()
        .get(format!("http://{}/api/metadata/workflow", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert!(plain.text().await.unwrap().contains("https://"));
    let (ok, _, err) = baton(&[
        "def",
        "list",
        "--server",
        &format!("http://{}", server.addr),
    ]);
    assert!(!ok);
    assert!(
        err.contains("cannot reach") || err.contains("error"),
        "{err}"
    );

    // A certificate no trusted authority signed is refused by the client, with the reason.
    let other = make_certs(&dir.path().join("other"));
    let (ok, _, err) = baton(&[
        "def",
        "list",
        "--server",
        &url,
        "--ca-file",
        &p(&other, "ca.pem"),
    ]);
    assert!(!ok);
    assert!(err.contains("invalid peer certificate"), "{err}");
    assert!(!call_ok(&server, &other.join("ca.pem"), None).await);

    // TLS options with a plain-text address are a mistake, said as such.
    let (ok, _, err) = baton(&[
        "def",
        "list",
        "--server",
        &format!("http://{}", server.addr),
        "--ca-file",
        &ca,
    ]);
    assert!(!ok);
    assert!(err.contains("need an https:// server address"), "{err}");
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(&dir.path().join("certs"));
    let ca = p(&certs, "ca.pem");
    let server = start_tls(&dir.path().join("data"), &certs, &["--tls-client-ca", &ca]);
    let url = https(&server);

    assert!(!call_ok(&server, &certs.join("ca.pem"), None).await);
    assert!(call_ok(&server, &certs.join("ca.pem"), Some(&certs)).await);

    let (ok, _, err) = baton(&["def", "list", "--server", &url, "--ca-file", &ca]);
    assert!(!ok, "a client without a certificate got in");
    assert!(err.contains("error"), "{err}");
    // A bare host:port with a client certificate is TLS too.
    let (ok, out, err) = baton(&[
        "def",
        "list",
        "--server",
        &url["https://".len()..],
        "--ca-file",
        &ca,
        "--client-cert",
        &p(&certs, "client.pem"),
        "--client-key",
        &p(&certs, "client-key.pem"),
    ]);
    assert!(ok, "{out}{err}");

    // A client certificate from another authority is refused too.
    let other = make_certs(&dir.path().join("other"));
    assert!(!call_ok(&server, &certs.join("ca.pem"), Some(&other)).await);

    // HTTP alike.
    let with = https_client(&certs.join("ca.pem"), Some(&certs), false);
    let resp = with
        .get(format!("{url}/api/metadata/taskdefs"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let without = https_client(&certs.join("ca.pem"), None, false);
    assert!(
        without
            .get(format!("{url}/api/metadata/taskdefs"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_a_bad_one_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let first = make_certs(&dir.path().join("first"));
    let second = make_certs(&dir.path().join("second"));
    let live = dir.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let install = |from: &Path| {
        for f in ["server.pem", "server-key.pem"] {
            std::fs::copy(from.join(f), live.join(f)).unwrap();
        }
    };
    install(&first);

    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["server", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(live.join("server.pem"))
        .arg("--tls-key")
        .arg(live.join("server-key.pem"))
        .env("BATON_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    {
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
    }
    let addr = line
        .trim()
        .strip_prefix("baton server listening on ")
        .unwrap()
        .to_string();
    let server = Server {
        child,
        addr,
        data_dir: dir.path().join("data"),
    };
    let hangup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &server.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    let log_has = |text: &str| {
        let mut s = String::new();
        std::fs::File::open(&log)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s.matches(text).count()
    };

    assert!(call_ok(&server, &first.join("ca.pem"), None).await);
    assert!(!call_ok(&server, &second.join("ca.pem"), None).await);

    // New files, then SIGHUP: new connections get the new certificate.
    install(&second);
    hangup();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !call_ok(&server, &second.join("ca.pem"), None).await {
        assert!(
            Instant::now() < deadline,
            "the new certificate never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!call_ok(&server, &first.join("ca.pem"), None).await);
    assert_eq!(log_has("TLS certificate reloaded"), 1);

    // Files that do not load: the reload fails, says why, and the certificate in use stays.
    std::fs::write(live.join("server.pem"), "not a certificate").unwrap();
    hangup();
    let deadline = Instant::now() + Duration::from_secs(20);
    while log_has("TLS reload failed") == 0 {
        assert!(
            Instant::now() < deadline,
            "the failed reload was never logged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log_has("server.pem") > 0);
    assert!(call_ok(&server, &second.join("ca.pem"), None).await);
}

#[test]
fn tls_files_that_do_not_load_stop_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(&dir.path().join("certs"));
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let run = |flags: &[&str]| {
        let mut args = vec!["server", "--data-dir", data, "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        baton(&args)
    };

    let missing = p(&certs, "nowhere.pem");
    let (ok, _, err) = run(&[
        "--tls-cert",
        &missing,
        "--tls-key",
        &p(&certs, "server-key.pem"),
    ]);
    assert!(!ok);
    assert!(
        err.contains("TLS certificate file") && err.contains("nowhere.pem"),
        "{err}"
    );

    let (ok, _, err) = run(&[
        "--tls-cert",
        &p(&certs, "server-key.pem"),
        "--tls-key",
        &p(&certs, "server-key.pem"),
    ]);
    assert!(!ok);
    assert!(err.contains("holds no CERTIFICATE section"), "{err}");

    let (ok, _, err) = run(&[
        "--tls-cert",
        &p(&certs, "server.pem"),
        "--tls-key",
        &p(&certs, "client-key.pem"),
    ]);
    assert!(!ok);
    assert!(err.contains("TLS configuration"), "{err}");

    let (ok, _, err) = run(&["--tls-cert", &p(&certs, "server.pem")]);
    assert!(!ok);
    assert!(err.contains("--tls-key"), "{err}");

    let (ok, _, err) = run(&[
        "--tls-cert",
        &p(&certs, "server.pem"),
        "--tls-key",
        &p(&certs, "server-key.pem"),
        "--tls-client-ca",
        &p(&certs, "server-key.pem"),
    ]);
    assert!(!ok);
    assert!(err.contains("client certificate authority"), "{err}");

    // `tls init` keeps what is there unless told to replace it.
    let (ok, _, err) = baton(&["tls", "init", "--dir", certs.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    let before = std::fs::read(certs.join("ca.pem")).unwrap();
    let (ok, _, err) = baton(&["tls", "init", "--dir", certs.to_str().unwrap(), "--force"]);
    assert!(ok, "{err}");
    assert_ne!(std::fs::read(certs.join("ca.pem")).unwrap(), before);
}

#[tokio::test]
async fn a_config_file_sets_tls_and_flags_and_environment_win_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(&dir.path().join("certs"));
    let config = dir.path().join("baton.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:1\"\ntls-cert = {:?}\ntls_key = {:?}\n",
            p(&certs, "server.pem"),
            p(&certs, "server-key.pem")
        ),
    )
    .unwrap();
    // The flag's listen address wins over the file's (port 1 would fail to bind).
    let server = Server::start_with(
        &dir.path().join("data"),
        "127.0.0.1:0",
        &["--config", config.to_str().unwrap()],
    );
    assert!(call_ok(&server, &certs.join("ca.pem"), None).await);
    drop(server);

    // The environment wins over the file too: here it names another key, which fails.
    let (ok, _, err) = {
        let out = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["server", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("BATON_TLS_KEY", p(&certs, "client-key.pem"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(!ok);
    assert!(err.contains("client-key.pem"), "{err}");

    // Bad files are named with what is wrong.
    let bad = dir.path().join("bad.toml");
    for (text, expect) in [
        (
            "tls-certificate = \"x\"\n",
            "unknown setting `tls-certificate`",
        ),
        ("listen = [1]\n", "must be a string or a number"),
        ("listen = \n", "is not valid TOML"),
        ("auth = 3\n", "must be true or false"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let (ok, _, err) = baton(&["server", "--config", bad.to_str().unwrap()]);
        assert!(!ok);
        assert!(
            err.contains(expect) && err.contains("bad.toml"),
            "{text}: {err}"
        );
    }
    let (ok, _, err) = baton(&["server", "--config", "/nonexistent/baton.toml"]);
    assert!(!ok);
    assert!(err.contains("cannot read the config file"), "{err}");
}
