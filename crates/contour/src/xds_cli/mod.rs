//! `contour cli`: upstream's debug xDS client. It opens a discovery stream to a running contour
//! (state of the world, or delta with `--delta`), prints every response it receives, and ACKs it
//! (or NACKs it with `--nack`), until interrupted.

mod connect;
mod print;
mod stream;

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Flags of `contour cli`, valid before or after the resource kind.
#[derive(Debug, Args)]
pub struct XdsCliArgs {
    #[command(subcommand)]
    pub kind: Kind,
    /// Contour's xDS address.
    #[arg(long, global = true, default_value = "127.0.0.1:8001")]
    pub contour: String,
    /// CA bundle file for connecting to a TLS-secured Contour.
    #[arg(long, global = true, env = "CLI_CAFILE")]
    pub cafile: Option<PathBuf>,
    /// Client certificate file for connecting to a TLS-secured Contour.
    #[arg(long, global = true, env = "CLI_CERT_FILE")]
    pub cert_file: Option<PathBuf>,
    /// Client key file for connecting to a TLS-secured Contour.
    #[arg(long, global = true, env = "CLI_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Use the incremental (delta) xDS protocol.
    #[arg(long, global = true)]
    pub delta: bool,
    /// NACK every response instead of ACKing it.
    #[arg(long, global = true)]
    pub nack: bool,
    /// Node ID sent to Contour.
    #[arg(long, global = true, env = "CLI_NODE_ID", default_value = "ContourCLI")]
    pub node_id: String,
}

/// Which resources to watch.
#[derive(Debug, Subcommand)]
pub enum Kind {
    /// Watch clusters.
    Cds(Names),
    /// Watch cluster load assignments.
    Eds(Names),
    /// Watch listeners.
    Lds(Names),
    /// Watch route configurations.
    Rds(Names),
    /// Watch secrets.
    Sds(Names),
}

#[derive(Debug, Args)]
pub struct Names {
    /// Resource names to subscribe to (none: all of them).
    pub resources: Vec<String>,
}

impl Kind {
    fn type_url(&self) -> &'static str {
        use contour_xds::type_url as t;
        match self {
            Kind::Cds(_) => t::CLUSTER,
            Kind::Eds(_) => t::ENDPOINT,
            Kind::Lds(_) => t::LISTENER,
            Kind::Rds(_) => t::ROUTE,
            Kind::Sds(_) => t::SECRET,
        }
    }

    fn names(&self) -> &[String] {
        match self {
            Kind::Cds(n) | Kind::Eds(n) | Kind::Lds(n) | Kind::Rds(n) | Kind::Sds(n) => {
                &n.resources
            }
        }
    }
}

/// Runs the client until the stream ends or the process is interrupted.
pub fn run(args: XdsCliArgs) -> anyhow::Result<()> {
    let tls = connect::TlsFiles::from_flags(&args.cafile, &args.cert_file, &args.key_file)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let channel = connect::channel(&args.contour, tls.as_ref()).await?;
        let sub = stream::Subscription {
            type_url: args.kind.type_url(),
            names: args.kind.names().to_vec(),
            node_id: args.node_id.clone(),
            nack: args.nack,
        };
        if args.delta {
            stream::run_delta(channel, sub).await
        } else {
            stream::run_sotw(channel, sub).await
        }
    })
}
