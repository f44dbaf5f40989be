//! Which channels the sender adopts from the chain: only those whose balance proofs its own key
//! signs. A channel in its name with another signer (someone opened it in this account's name
//! on a contract that allowed it, or another tool registered a key this client does not hold) is
//! never paid from nor topped up: whoever holds that key could spend the deposit.

#![allow(clippy::unwrap_used)]

mod support;

use alloy::primitives::Address;
use support::{test_options, Env, RECEIVER, SENDER};
use uraiden_client::Session;
use uraiden_protocol::{ChannelId, U192};

async fn deposit(env: &Env, id: ChannelId) -> U192 {
    let contract = env.chain.channel_manager(SENDER);
    let info = contract.getChannelInfo(id.sender, id.receiver, id.open_block_number).call().await.unwrap();
    info.deposit
}

#[tokio::test]
async fn a_channel_signed_for_by_another_key_is_not_adopted_nor_topped_up() {
    let env = Env::start(1).await;
    let receiver = env.chain.address(RECEIVER);
    let stranger = Address::repeat_byte(0xad);
    let foreign = env.chain.open_channel(SENDER, receiver, 30, Some(stranger)).await;
    let own = env.chain.open_channel(SENDER, receiver, 40, None).await;
    let newest = env.chain.open_channel(SENDER, receiver, 0, Some(stranger)).await;
    env.synced().await;

    let client = env.client(&env.state_file("sender.json")).await;
    client.sync_channels().await.unwrap();
    let adopted: Vec<_> = client.channels().iter().map(|channel| channel.id()).collect();
    assert_eq!(adopted, vec![own], "only the channel the sender's key signs for is adopted");

    // Paying needs more than the adopted channel holds: it is topped up, the others are not.
    let session = Session::new(client.clone(), test_options());
    for _ in 0..9 {
        assert_eq!(session.get(&env.echo("hi")).await.unwrap().status(), 200);
    }
    assert!(deposit(&env, own).await > U192::from(40), "the sender's own channel was topped up");
    assert_eq!(deposit(&env, foreign).await, U192::from(30), "the foreign channel was not topped up");
    assert_eq!(deposit(&env, newest).await, U192::ZERO, "the newest foreign channel was not topped up");
    assert_eq!(client.channels().len(), 1);
    env.shutdown().await;
}
