//! Converges Stripe to the catalog and stores it (see `devchat::catalog::provision`).
//!
//! - Locally (no `AWS_LAMBDA_RUNTIME_API`): runs once, prints the catalog as JSON, exits 0.
//!   `--create-table` first creates the DynamoDB table if it is missing, and
//!   `--verify-sender` makes FROM_EMAIL a verified SES identity (local stack: moto).
//! - In AWS: a CloudFormation custom resource; each event goes to `devchat::cfn::handle`,
//!   which always answers the stack's ResponseURL — also when the configuration is
//!   broken (a missing secret): then Create and Update answer FAILED with the reason,
//!   and Delete still succeeds, so a stack never waits for a timeout.

use clap::Parser;
use devchat::{
    api::App,
    catalog,
    cfn::{self, CfnRequest},
};
use lambda_http::{LambdaEvent, lambda_runtime, service_fn};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Converge Stripe to the /dev/chat catalog and store it in DynamoDB")]
struct Cli {
    /// Create the DynamoDB table first if it does not exist (local stack and tests).
    #[arg(long)]
    create_table: bool,
    /// Make FROM_EMAIL a verified SES identity first (local stack: moto server's SES).
    #[arg(long)]
    verify_sender: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::telemetry::init();
    let app = App::from_env().await;
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        let app = app?;
        let cli = Cli::parse();
        if cli.create_table {
            app.store.ensure_table().await?;
        }
        if cli.verify_sender {
            app.mail.ensure_sender().await?;
        }
        let catalog = catalog::provision(&app.stripe, &app.store, &app.config).await?;
        println!("{}", serde_json::to_string_pretty(&catalog)?);
        return Ok(());
    }
    if let Err(err) = &app {
        tracing::error!(error = %err, "cold start failed: every Create and Update will answer FAILED");
    }
    let app = &app;
    lambda_runtime::run(service_fn(|event: LambdaEvent<CfnRequest>| async move {
        let deadline = event.context.deadline();
        cfn::handle(event.payload, deadline, || async {
            let app = app
                .as_ref()
                .map_err(|err| devchat::Error::Internal(format!("cold start failed: {err}")))?;
            let catalog = catalog::provision(&app.stripe, &app.store, &app.config).await?;
            // CloudFormation `Data`: flat strings, readable with Fn::GetAtt.
            Ok::<Value, devchat::Error>(json!({
                "ProductId": catalog.product_id,
                "MonthlyPriceId": catalog.monthly_price.id,
                "OnDemandPriceId": catalog.ondemand_price.id,
                "MeterId": catalog.meter_id,
                "PortalConfigurationId": catalog.portal_configuration_id,
            }))
        })
        .await
        .map_err(lambda_http::Error::from)
    }))
    .await
}
