//! Reading from the person at the terminal: passwords (hidden), lines piped
//! on stdin, and yes/no confirmations. Nothing here prompts when stdin is
//! not a terminal; the caller gets a clear error instead of a hang.
//!
//! Secrets (passwords, Slack's signing secret and bot token) come from
//! hidden prompts or, for scripts, from lines on stdin with a `--...-stdin`
//! flag; never from flags, where they would land in the shell history.

use anyhow::{anyhow, bail, Context as _};
use std::io::{self, BufRead, IsTerminal, Write};

/// True when stdin is a terminal a person can answer on.
pub fn interactive() -> bool {
    io::stdin().is_terminal()
}

/// Prompts for a password without echoing it.
pub fn prompt_password(prompt: &str) -> anyhow::Result<String> {
    rpassword::prompt_password(prompt).context("cannot read the password from the terminal")
}

/// Prompts for a new secret twice without echoing it; fails with
/// `mismatch` when the two answers differ.
pub fn prompt_twice(prompt: &str, again: &str, mismatch: &str) -> anyhow::Result<String> {
    let first = prompt_password(prompt)?;
    if prompt_password(again)? != first {
        bail!("{mismatch}");
    }
    Ok(first)
}

/// `n` secrets: `n` lines on stdin when `from_stdin` (`what` names them in
/// errors), else what `ask` gets on the terminal. Without a terminal it
/// fails with `no_terminal`, which says how to pipe them instead.
pub fn secrets(
    from_stdin: bool,
    n: usize,
    what: &str,
    no_terminal: &str,
    ask: impl FnOnce() -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<Vec<String>> {
    if from_stdin {
        read_stdin_lines(n, what)
    } else if interactive() {
        ask()
    } else {
        bail!("{no_terminal}")
    }
}

/// One password: the first line on stdin when `from_stdin`, else what
/// `ask` gets on the terminal (see [`secrets`]).
pub fn password(
    from_stdin: bool,
    no_terminal: &str,
    ask: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    secrets(from_stdin, 1, "a password", no_terminal, || {
        Ok(vec![ask()?])
    })?
    .pop()
    .ok_or_else(|| anyhow!("expected a password on standard input"))
}

/// Asks for one line of text on the terminal (echoed), trimmed.
pub fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    let answer = answer(prompt, "cannot ask for input without a terminal")?;
    Ok(answer.trim().to_string())
}

/// Reads `n` lines from `reader`, without their line endings. Fails when
/// fewer are there or one is empty; `what` names them in the message.
pub fn read_lines(reader: &mut impl BufRead, n: usize, what: &str) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let mut buf = String::new();
        let read = reader
            .read_line(&mut buf)
            .context("cannot read standard input")?;
        if read == 0 {
            bail!("expected {what} on standard input");
        }
        let value = buf.strip_suffix('\n').unwrap_or(&buf);
        let value = value.strip_suffix('\r').unwrap_or(value);
        if value.is_empty() {
            bail!("expected {what} on standard input, got an empty line");
        }
        lines.push(value.to_string());
    }
    Ok(lines)
}

/// Reads `n` lines from stdin (see [`read_lines`]).
pub fn read_stdin_lines(n: usize, what: &str) -> anyhow::Result<Vec<String>> {
    read_lines(&mut io::stdin().lock(), n, what)
}

/// Asks a yes/no question on the terminal; only `y` or `yes` is yes.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    let answer = answer(
        &format!("{question} [y/N] "),
        "cannot ask for confirmation without a terminal",
    )?;
    Ok(is_yes(&answer))
}

/// Writes `prompt` on stderr and reads the line typed in answer. Without a
/// terminal it fails with `no_terminal`.
fn answer(prompt: &str, no_terminal: &str) -> anyhow::Result<String> {
    if !interactive() {
        bail!("{no_terminal}");
    }
    let mut err = io::stderr().lock();
    write!(err, "{prompt}")?;
    err.flush()?;
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(answer)
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_endings_but_keep_their_spaces() {
        let mut input = io::Cursor::new("old pass \r\nnew-pass\nextra\n");
        let lines = read_lines(&mut input, 2, "two passwords").unwrap();
        assert_eq!(lines, vec!["old pass ", "new-pass"]);
    }

    #[test]
    fn missing_or_empty_lines_are_errors() {
        let mut input = io::Cursor::new("only-one\n");
        let err = read_lines(&mut input, 2, "two passwords").unwrap_err();
        assert!(err.to_string().contains("two passwords"));
        let mut input = io::Cursor::new("\n");
        assert!(read_lines(&mut input, 1, "a password").is_err());
        let mut input = io::Cursor::new("no-newline");
        assert_eq!(
            read_lines(&mut input, 1, "a password").unwrap(),
            vec!["no-newline"]
        );
    }

    #[test]
    fn only_yes_means_yes() {
        assert!(is_yes("y\n"));
        assert!(is_yes(" YES "));
        assert!(!is_yes("\n"));
        assert!(!is_yes("no"));
        assert!(!is_yes("yep"));
    }
}
