//! `contour bootstrap PATH`: writes Envoy's bootstrap configuration.

use std::io::Write;

use anyhow::Context;
use contour_envoy::bootstrap::{self, BootstrapConfig, BootstrapMode, XdsTls};

use crate::cli::{BootstrapArgs, DnsLookupFamily, XdsMode as CliXdsMode};

fn config_from(args: &BootstrapArgs) -> anyhow::Result<BootstrapConfig> {
    if args.admin_port.is_some() {
        tracing::warn!(
            "--admin-port is deprecated and has no effect: the admin interface is the Unix socket --admin-address"
        );
    }
    let tls = XdsTls::from_parts(
        args.envoy_cafile.clone(),
        args.envoy_cert_file.clone(),
        args.envoy_key_file.clone(),
    )?;
    if let Some(tls) = &tls {
        bootstrap::check_tls_files(tls)?;
    }
    Ok(BootstrapConfig {
        xds_address: args.xds_address.clone(),
        xds_port: args.xds_port,
        admin_address: args.admin_address.clone(),
        admin_port: args.admin_port.unwrap_or(9001),
        namespace: args.namespace.clone(),
        dns_lookup_family: match args.dns_lookup_family {
            DnsLookupFamily::Auto => bootstrap::DnsLookupFamily::Auto,
            DnsLookupFamily::V4 => bootstrap::DnsLookupFamily::V4,
            DnsLookupFamily::V6 => bootstrap::DnsLookupFamily::V6,
            DnsLookupFamily::All => bootstrap::DnsLookupFamily::All,
        },
        xds_resource_version: args.xds_resource_version.clone(),
        resources_dir: args.resources_dir.clone(),
        tls,
        mode: match args.xds_mode {
            CliXdsMode::Ads => BootstrapMode::Ads,
            CliXdsMode::Grpc => BootstrapMode::PerType,
        },
        ..Default::default()
    })
}

pub fn run(args: BootstrapArgs) -> anyhow::Result<()> {
    let cfg = config_from(&args)?;
    let json = bootstrap::bootstrap_json(&cfg)?;
    let text = serde_json::to_string_pretty(&json)? + "\n";
    for (path, content) in bootstrap::bootstrap_sds_files(&cfg)? {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.path == "-" {
        std::io::stdout().write_all(text.as_bytes())?;
    } else {
        std::fs::write(&args.path, text).with_context(|| format!("writing {}", args.path))?;
    }
    Ok(())
}
