//! The binary's usage contract (this test also makes `cargo test` build the binary that the
//! workspace's end-to-end tests in `tests/` run).

use std::process::Command;

#[test]
fn help_lists_every_contract_command_and_usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_pagetrail")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["ingest", "catalog", "rejects", "top-readers", "who-read", "user", "events", "stats", "gen", "demo"] {
        assert!(text.contains(cmd), "--help lacks {cmd}:\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_pagetrail")).arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_pagetrail"))
        .args(["who-read", "--page", "1", "--space", "X"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--page and --space together are a usage error");
}

#[test]
fn completions_and_man_page_come_from_the_real_options() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pagetrail")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("_pagetrail") && bash.contains("top-readers") && bash.contains("--final"), "{bash}");
    assert!(run(&["completions", "zsh"]).contains("#compdef pagetrail"));
    let man = run(&["man"]);
    assert!(man.contains(".TH pagetrail") && man.contains("who\\-read"), "{man}");
}
