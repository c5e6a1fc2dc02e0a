//! `baton tls`: certificates for trying TLS and mutual TLS out, and the client side of TLS
//! for the command-line tools.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Datelike;
use clap::{Args, Subcommand};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// `baton tls ...`
#[derive(Subcommand)]
pub enum TlsCommand {
    /// Writes a new certificate authority and a server and a client certificate signed by
    /// it: `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem` (and
    /// the authority's key, `ca-key.pem`). For local use and tests; production
    /// certificates come from your own authority.
    Init {
        /// Directory to write the files to (created when missing).
        #[arg(long)]
        dir: PathBuf,
        /// Names and addresses the server certificate is valid for (repeatable).
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])]
        hosts: Vec<String>,
        /// Days the certificates are valid.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Replace files that are already there.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `baton tls` command.
pub fn run(cmd: TlsCommand) -> anyhow::Result<()> {
    match cmd {
        TlsCommand::Init {
            dir,
            hosts,
            days,
            force,
        } => init(&dir, &hosts, days, force),
    }
}

const FILES: [&str; 6] = [
    "ca.pem",
    "ca-key.pem",
    "server.pem",
    "server-key.pem",
    "client.pem",
    "client-key.pem",
];

fn init(dir: &Path, hosts: &[String], days: u32, force: bool) -> anyhow::Result<()> {
    if hosts.iter().any(|h| h.trim().is_empty()) {
        bail!("--host must not be empty");
    }
    if !force && let Some(f) = FILES.iter().find(|f| dir.join(f).exists()) {
        bail!(
            "{} already exists; pass --force to replace the files in {}",
            dir.join(f).display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    let today = chrono::DateTime::from_timestamp(now.as_secs() as i64, 0)
        .context("the system clock is out of range")?
        .date_naive();
    let from = today - chrono::Days::new(1);
    let until = today + chrono::Days::new(u64::from(days));
    let validity = |p: &mut CertificateParams| {
        p.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
        p.not_after = rcgen::date_time_ymd(until.year(), until.month() as u8, until.day() as u8);
    };

    // Each authority is named apart (by its key), so that two made on one machine are
    // never mistaken for one another.
    let ca_key = KeyPair::generate()?;
    let raw = ca_key.public_key_raw();
    let tag: String = raw[raw.len().saturating_sub(4)..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("Baton local certificate authority {tag}"),
    );
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca);
    let ca = CertifiedIssuer::self_signed(ca, ca_key)?;

    let leaf = |names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
        let mut p = CertificateParams::new(names)?;
        p.distinguished_name.push(DnType::CommonName, cn);
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![usage];
        validity(&mut p);
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &ca)?;
        Ok::<_, rcgen::Error>((cert.pem(), key.serialize_pem()))
    };
    let (server, server_key) = leaf(
        hosts.to_vec(),
        hosts[0].as_str(),
        ExtendedKeyUsagePurpose::ServerAuth,
    )
    .context("cannot make the server certificate")?;
    let (client, client_key) = leaf(
        vec!["baton-client".to_string()],
        "baton-client",
        ExtendedKeyUsagePurpose::ClientAuth,
    )
    .context("cannot make the client certificate")?;

    write(dir, "ca.pem", &ca.pem(), false)?;
    write(dir, "ca-key.pem", &ca.key().serialize_pem(), true)?;
    write(dir, "server.pem", &server, false)?;
    write(dir, "server-key.pem", &server_key, true)?;
    write(dir, "client.pem", &client, false)?;
    write(dir, "client-key.pem", &client_key, true)?;
    let d = dir.display();
    println!(
        "wrote {d}/ca.pem, server.pem, server-key.pem, client.pem, client-key.pem and ca-key.pem"
    );
    println!("server valid for {} until {until}", hosts.join(", "));
    println!("serve:   baton server --tls-cert {d}/server.pem --tls-key {d}/server-key.pem");
    println!(
        "connect: baton def list --server https://{}:7070 --ca-file {d}/ca.pem",
        hosts[0]
    );
    Ok(())
}

fn write(dir: &Path, name: &str, text: &str, secret: bool) -> anyhow::Result<()> {
    let path = dir.join(name);
    // Written under a temporary name and moved into place: a reader never sees half a file.
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = secret;
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
}

/// How a command-line tool reaches a server over TLS.
#[derive(Args, Clone, Debug, Default)]
pub struct ClientTls {
    /// Trust the certificate authorities in this PEM file (for an `https://` server whose
    /// certificate is not signed by one the system trusts).
    #[arg(long, env = "BATON_CA_FILE", global = true)]
    pub(crate) ca_file: Option<PathBuf>,
    /// Present this client certificate (PEM) to a server that requires mutual TLS.
    #[arg(
        long,
        env = "BATON_CLIENT_CERT",
        requires = "client_key",
        global = true
    )]
    pub(crate) client_cert: Option<PathBuf>,
    /// The private key of --client-cert (PEM).
    #[arg(
        long,
        env = "BATON_CLIENT_KEY",
        requires = "client_cert",
        global = true
    )]
    pub(crate) client_key: Option<PathBuf>,
    /// The API key to send (`authorization: Bearer`), for a server with --auth.
    #[arg(long, env = "BATON_API_KEY", global = true, hide_env_values = true)]
    pub(crate) api_key: Option<String>,
}

/// A connection to the server that sends the API key, when one is given, with every call.
pub(crate) type Client = tonic::service::interceptor::InterceptedService<Channel, KeyInterceptor>;

/// Puts `authorization: Bearer <key>` on every call.
#[derive(Clone, Debug)]
pub(crate) struct KeyInterceptor(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for KeyInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

impl ClientTls {
    /// An endpoint for `server`: TLS when it starts with `https://`, or when it is a bare
    /// `host:port` and --ca-file or --client-cert is given (trusting --ca-file or, without
    /// it, the system's authorities); plain text otherwise. TLS options given for an
    /// `http://` address are an error rather than silently unused.
    pub(crate) fn endpoint(&self, server: &str) -> anyhow::Result<Endpoint> {
        let server = server.trim();
        let lower = server.to_ascii_lowercase();
        let wants_tls = self.ca_file.is_some() || self.client_cert.is_some();
        // A bare host:port is TLS when TLS options are given, plain text otherwise (as in
        // the SDKs).
        let url = if lower.starts_with("https://") || lower.starts_with("http://") {
            server.to_string()
        } else if wants_tls {
            format!("https://{server}")
        } else {
            format!("http://{server}")
        };
        let endpoint = Channel::from_shared(url.clone())
            .with_context(|| format!("bad server address {server}"))?;
        let https = url.to_ascii_lowercase().starts_with("https://");
        if !https {
            if self.ca_file.is_some() || self.client_cert.is_some() {
                bail!("--ca-file and --client-cert need an https:// server address, got {server}");
            }
            return Ok(endpoint);
        }
        let mut config = ClientTlsConfig::new();
        match &self.ca_file {
            Some(ca) => {
                let pem = std::fs::read(ca)
                    .with_context(|| format!("cannot read CA file {}", ca.display()))?;
                config = config.ca_certificate(Certificate::from_pem(pem));
            }
            None => config = config.with_native_roots(),
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            let cert = std::fs::read(cert)
                .with_context(|| format!("cannot read client certificate {}", cert.display()))?;
            let key = std::fs::read(key)
                .with_context(|| format!("cannot read client key {}", key.display()))?;
            config = config.identity(Identity::from_pem(cert, key));
        }
        endpoint
            .tls_config(config)
            .with_context(|| format!("cannot set up TLS for {server}"))
    }

    /// Wraps a channel so that every call carries the API key.
    pub(crate) fn client(&self, channel: Channel) -> anyhow::Result<Client> {
        let value = match self.api_key.as_deref().map(str::trim) {
            Some(k) if !k.is_empty() => Some(
                format!("Bearer {k}")
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--api-key holds characters a header cannot"))?,
            ),
            _ => None,
        };
        Ok(tonic::service::interceptor::InterceptedService::new(
            channel,
            KeyInterceptor(value),
        ))
    }

    /// Connects to `server` (see [`ClientTls::endpoint`]), failing after `timeout` when
    /// given.
    pub(crate) async fn connect(
        &self,
        server: &str,
        timeout: Option<Duration>,
    ) -> anyhow::Result<Client> {
        let mut endpoint = self.endpoint(server)?;
        if let Some(t) = timeout {
            endpoint = endpoint.connect_timeout(t);
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach baton server at {server}"))?;
        self.client(channel)
    }
}
