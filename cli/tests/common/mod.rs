//! What the CLI's test files share: running the binary and reading what
//! it printed.

#![allow(dead_code)] // each test file uses its part

use std::process::{Command, Output};

use serde_json::Value;

pub fn blocklog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blocklog"))
        .args(args)
        .output()
        .expect("run blocklog")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit status")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

pub fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}
