//! Reading from the person at the terminal: passwords (hidden), lines piped
//! on stdin, and yes/no confirmations. Nothing here prompts when stdin is
//! not a terminal; the caller gets a clear error instead of a hang.

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

/// Asks for one line of text on the terminal (echoed), trimmed.
pub fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    if !interactive() {
        return Err(anyhow!("cannot ask for input without a terminal"));
    }
    let mut err = io::stderr().lock();
    write!(err, "{prompt}")?;
    err.flush()?;
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
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
    if !interactive() {
        return Err(anyhow!("cannot ask for confirmation without a terminal"));
    }
    let mut err = io::stderr().lock();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(is_yes(&answer))
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
