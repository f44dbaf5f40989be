//! The `uraiden` binary against a real receiver: `get` pays and prints the body; a refusal
//! is one line on stderr, a non-zero exit, and no key material.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{Env, SENDER};

#[tokio::test]
async fn uraiden_get_prints_the_paid_body() {
    let env = Env::start(1).await;
    let key_hex = alloy::hex::encode(env.chain.key(SENDER).to_bytes());
    let key_file = env.state_file("sender.key");
    std::fs::write(&key_file, &key_hex).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let state_file = env.state_file("cli.json");
    let uraiden = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden"));
        command
            .env_clear()
            .env("URAIDEN_PRIVATE_KEY", &key_file)
            .args(["--rpc-provider", env.chain.anvil.endpoint_url().as_str()])
            .args(["--state-file", state_file.to_str().unwrap()])
            .args(args);
        command.output()
    };

    // The contract is learned from the 402; the channel is opened and paid.
    let output = uraiden(&["get", &env.echo("hello"), "--retry-interval-ms", "50"]).await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello");

    // Pinned contract, second payment in the same channel; `channels` shows balance 10.
    let manager = env.chain.deployment.channel_manager.to_string();
    let output =
        uraiden(&["--channel-manager-address", &manager, "get", &env.echo("again"), "--max-price", "5"])
            .await
            .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "again");
    let output = uraiden(&["--channel-manager-address", &manager, "channels"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("deposit 50 balance 10 state open"), "{stdout}");

    // Too expensive: refused, exit code 1, no key in the output.
    let output = uraiden(&["get", &env.echo("x"), "--max-price", "1"]).await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("above the limit of 1"), "{stderr}");
    assert!(!stderr.contains(&key_hex[..16]), "the key leaks: {stderr}");

    // Cooperative close through the receiver's API.
    let output = uraiden(&["--channel-manager-address", &manager, "close"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("closed cooperatively at balance 10"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    env.shutdown().await;
}
