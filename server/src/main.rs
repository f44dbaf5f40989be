//! `uraiden-server`: parses the command line and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    uraiden_server::Cli::parse().run().await
}
