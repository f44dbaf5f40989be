// written once the protocol crate lands
