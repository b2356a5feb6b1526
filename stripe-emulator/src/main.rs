use std::net::{IpAddr, SocketAddr};

use clap::Parser;
use stripe_emulator::Config;

/// A local, stateful Stripe API emulator.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "STRIPE_EMULATOR_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on.
    #[arg(long, env = "STRIPE_EMULATOR_PORT", default_value_t = 12111)]
    port: u16,
    /// Base URL browsers use to reach this server (default: http://HOST:PORT).
    #[arg(long, env = "STRIPE_EMULATOR_PUBLIC_URL")]
    public_url: Option<String>,
    /// Signing secret of `stripe listen` sessions.
    #[arg(
        long,
        env = "STRIPE_EMULATOR_WEBHOOK_SECRET",
        default_value = "whsec_devchat_local_emulator_secret"
    )]
    webhook_secret: String,
    /// Keep state in this file across restarts.
    #[arg(long, env = "STRIPE_EMULATOR_DATA")]
    data: Option<std::path::PathBuf>,
    /// How long hosted Checkout shows "Processing" after confirming a payment, before
    /// it loads success_url (Stripe's page takes about a second).
    #[arg(
        long,
        env = "STRIPE_EMULATOR_CHECKOUT_CONFIRM_DELAY_MS",
        default_value_t = 1000
    )]
    checkout_confirm_delay_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let args = Args::parse();
    let addr = SocketAddr::new(args.host, args.port);
    let config = Config {
        public_url: args.public_url.unwrap_or_else(|| format!("http://{addr}")),
        webhook_secret: args.webhook_secret,
        data: args.data,
        checkout_confirm_delay_ms: args.checkout_confirm_delay_ms,
    };
    stripe_emulator::serve(addr, config, |bound| {
        tracing::info!(%bound, "stripe-emulator ready");
    })
    .await
}
