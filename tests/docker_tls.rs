//! TLS to a real engine: a private dockerd with `--tlsverify` and certificates made here with
//! the openssl CLI. firedrill must trust exactly the certificates in `ca.pem`: the right CA
//! connects, a server whose CA is not in `ca.pem` is refused (also when that CA is what the
//! system store would hold), and a missing client certificate is an error naming the file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::engine::{self, PrivateEngine};
use firedrill::platform::docker::connect::Endpoint;
use firedrill::platform::PlatformError;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn new_key(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            name,
        ],
    );
}

/// A self-signed CA: `<name>.pem` and `<name>-key.pem`.
fn new_ca(dir: &Path, name: &str) {
    let key = format!("{name}-key.pem");
    new_key(dir, &key);
    let subject = format!("/CN=firedrill test {name}");
    let cert = format!("{name}.pem");
    openssl(
        dir,
        &[
            "req", "-x509", "-new", "-key", &key, "-sha256", "-days", "2", "-subj", &subject,
            "-out", &cert,
        ],
    );
}

/// `<name>-cert.pem` and `<name>-key.pem`, signed by the CA `ca`, with these extensions.
fn new_leaf(dir: &Path, name: &str, ca: &str, extensions: &str) {
    let key = format!("{name}-key.pem");
    new_key(dir, &key);
    let csr = format!("{name}.csr");
    let ext = format!("{name}.ext");
    std::fs::write(dir.join(&ext), extensions).expect("write extensions");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &key,
            "-subj",
            "/CN=127.0.0.1",
            "-out",
            &csr,
        ],
    );
    let (ca_cert, ca_key) = (format!("{ca}.pem"), format!("{ca}-key.pem"));
    let cert = format!("{name}-cert.pem");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_cert,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-sha256",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    );
}

/// A `DOCKER_CERT_PATH` folder: `ca.pem` from `ca`, and the client certificate and key.
fn cert_dir(pki: &Path, name: &str, ca: &str, with_client_cert: bool) -> PathBuf {
    let dir = pki.join(name);
    std::fs::create_dir_all(&dir).expect("cert dir");
    let copy = |from: &str, to: &str| {
        std::fs::copy(pki.join(from), dir.join(to)).expect("copy certificate");
    };
    copy(&format!("{ca}.pem"), "ca.pem");
    copy("client-key.pem", "key.pem");
    if with_client_cert {
        copy("client-cert.pem", "cert.pem");
    }
    dir
}

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// CA `right` signs the server and the client; CA `wrong` signs nothing the engine uses.
    fn make() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path();
        new_ca(p, "right");
        new_ca(p, "wrong");
        new_leaf(
            p,
            "server",
            "right",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        );
        new_leaf(
            p,
            "client",
            "right",
            "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
        );
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

/// Fresh certificates; a private engine that requires TLS on `addr` with the server
/// certificate the `right` CA signed; and client certificate folders whose `ca.pem` holds the
/// right CA and a wrong one.
struct TlsLab {
    pki: Pki,
    addr: String,
    engine: PrivateEngine,
    right: PathBuf,
    wrong: PathBuf,
}

/// A [`TlsLab`], or `None` when a private engine or openssl is not available to `test`.
fn tls_lab(test: &str) -> Option<TlsLab> {
    engine::available(test, &["openssl"])?;
    let pki = Pki::make();
    let addr = format!("127.0.0.1:{}", engine::free_port());
    let engine = PrivateEngine::start(&[
        format!("--host=tcp://{addr}"),
        "--tlsverify".into(),
        format!("--tlscacert={}", pki.path("right.pem")),
        format!("--tlscert={}", pki.path("server-cert.pem")),
        format!("--tlskey={}", pki.path("server-key.pem")),
    ]);
    let right = cert_dir(pki.dir.path(), "right-dir", "right", true);
    let wrong = cert_dir(pki.dir.path(), "wrong-dir", "wrong", true);
    Some(TlsLab {
        pki,
        addr,
        engine,
        right,
        wrong,
    })
}

fn tls_endpoint(addr: &str, cert_dir: &Path) -> Endpoint {
    Endpoint::Tls {
        addr: addr.to_string(),
        cert_dir: cert_dir.to_path_buf(),
    }
}

#[tokio::test]
async fn tls_trusts_exactly_the_certificates_in_ca_pem() {
    let Some(TlsLab {
        pki,
        addr,
        engine,
        right,
        wrong,
    }) = tls_lab("tls_trusts_exactly_the_certificates_in_ca_pem")
    else {
        return;
    };
    let no_client_cert = cert_dir(pki.dir.path(), "no-cert-dir", "right", false);

    // The right CA: connected, and the engine answers a real call.
    let docker = tls_endpoint(&addr, &right)
        .open()
        .await
        .unwrap_or_else(|e| panic!("the right ca.pem must connect: {e}\n{}", engine.log()));
    let info = docker.info().await.expect("GET /info over TLS");
    assert!(info.id.is_some(), "{info:?}");

    // The same server, with a ca.pem that does not hold its CA: refused.
    let err = match tls_endpoint(&addr, &wrong).open().await {
        Err(e) => e,
        Ok(_) => panic!("a server signed by a CA missing from ca.pem was accepted"),
    };
    assert!(matches!(err, PlatformError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr), "{err}");

    // A missing client certificate: a named error before anything is sent.
    let err = match tls_endpoint(&addr, &no_client_cert).open().await {
        Err(e) => e,
        Ok(_) => panic!("connected without a client certificate"),
    };
    let missing = no_client_cert.join("cert.pem");
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "the error must name {}: {err}",
        missing.display()
    );
}

/// The real binary with the server's CA where the system store is read from
/// (`SSL_CERT_FILE`) but not in `ca.pem`: still refused, so the system store is not trusted.
#[test]
fn a_ca_trusted_only_by_the_system_store_is_refused() {
    let Some(TlsLab {
        pki,
        addr,
        engine,
        right,
        wrong,
    }) = tls_lab("a_ca_trusted_only_by_the_system_store_is_refused")
    else {
        return;
    };
    let scenario = pki.dir.path().join("tls.yaml");
    std::fs::write(
        &scenario,
        "version: 1\nname: tls\nplatform: { kind: docker }\n\
         targets:\n  - name: web\n    select: { labels: { firedrill.test: tls } }\n\
         schedule: { every: 1s, max_kills: 1 }\n",
    )
    .expect("write scenario");
    let targets = |cert_path: &Path| {
        common::firedrill()
            .arg("targets")
            .arg(&scenario)
            .env("DOCKER_HOST", format!("tcp://{addr}"))
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", cert_path)
            .env("SSL_CERT_FILE", pki.path("right.pem"))
            .env("SSL_CERT_DIR", pki.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run firedrill targets")
    };
    // The private engine runs no container, so a connected `targets` ends in the error for a
    // selector that matches nothing (exit 2), which only an engine that answered can give.
    let accepted = targets(&right);
    let stderr = String::from_utf8_lossy(&accepted.stderr);
    assert!(
        accepted.status.code() == Some(2)
            && stderr.contains("matches no instance on docker")
            && stderr.contains("containers on the engine at"),
        "the right ca.pem must connect: {stderr}\n{}",
        engine.log()
    );
    let refused = targets(&wrong);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "an unreachable engine exits 3: {stderr}"
    );
    assert!(stderr.contains(&addr), "{stderr}");
}
