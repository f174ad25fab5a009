//! The CLI's saved state: `credentials.json` in the config directory
//! (`$ROSTER_CONFIG_DIR`, else `<user config dir>/roster`).
//!
//! It holds the server, the session token, the email that signed in and the
//! current org. The token is a secret: the directory is created 0700, the
//! file is written 0600 from the moment it exists (a temporary file created
//! with that mode, then renamed over the old one, so a reader never sees a
//! half-written file), and `Debug` hides the token.

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file's name inside the config directory.
pub const FILE_NAME: &str = "credentials.json";

/// What `roster login` and `roster orgs switch` remember.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The server the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The org slug used when `--org` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_org: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email)
            .field("current_org", &self.current_org)
            .finish()
    }
}

/// Where the credentials file lives, and how it is read and written.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    dir: PathBuf,
}

impl CredentialStore {
    /// The store in `ROSTER_CONFIG_DIR` (passed in as `env_dir`) or else in
    /// the user's config directory.
    pub fn locate(env_dir: Option<OsString>) -> anyhow::Result<CredentialStore> {
        let dir = match env_dir.filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::config_dir()
                .map(|d| d.join("roster"))
                .ok_or_else(|| {
                    anyhow!("cannot find your config directory; set ROSTER_CONFIG_DIR")
                })?,
        };
        Ok(CredentialStore::at(dir))
    }

    /// A store in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> CredentialStore {
        CredentialStore { dir: dir.into() }
    }

    /// The path of the credentials file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The saved credentials; empty ones when nothing was saved yet.
    pub fn load(&self) -> anyhow::Result<Credentials> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Credentials::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "{} is not a valid credentials file ({e}); run `roster login` to replace it",
                path.display()
            )
        })
    }

    /// Replaces the saved credentials atomically. The file has mode 0600
    /// and its directory 0700 (when this creates it).
    pub fn save(&self, credentials: &Credentials) -> anyhow::Result<()> {
        self.create_dir()?;
        let mut json =
            serde_json::to_vec_pretty(credentials).context("cannot encode credentials")?;
        json.push(b'\n');
        let path = self.path();
        let tmp = self
            .dir
            .join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let written = write_private(&tmp, &json).and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("cannot write {}", path.display()));
        }
        Ok(())
    }

    fn create_dir(&self) -> anyhow::Result<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))
    }
}

/// Creates `path` readable by its owner only (a stale file of that name is
/// replaced) and writes `bytes` to it.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let open = || {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path)
    };
    let mut file = match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            open()?
        }
        other => other?,
    };
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        Credentials {
            server: Some("http://127.0.0.1:8080".into()),
            token: Some("rst_secret_token".into()),
            email: Some("pam@dundermifflin.com".into()),
            current_org: Some("dunder-mifflin".into()),
        }
    }

    #[test]
    fn credentials_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::at(dir.path().join("roster"));
        assert_eq!(store.load().unwrap(), Credentials::default());
        store.save(&sample()).unwrap();
        assert_eq!(store.load().unwrap(), sample());

        let mut changed = sample();
        changed.token = None;
        changed.current_org = Some("scranton".into());
        store.save(&changed).unwrap();
        assert_eq!(store.load().unwrap(), changed);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::at(dir.path().join("nested").join("roster"));
        store.save(&sample()).unwrap();
        store.save(&sample()).unwrap();

        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&dir.path().join("nested").join("roster")), 0o700);
        let names: Vec<_> = fs::read_dir(dir.path().join("nested").join("roster"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![OsString::from(FILE_NAME)],
            "no temporary file is left behind"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_temporary_file_does_not_block_saving() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::at(dir.path());
        let tmp = dir
            .path()
            .join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        fs::write(&tmp, "junk").unwrap();
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).unwrap();
        store.save(&sample()).unwrap();
        assert_eq!(store.load().unwrap(), sample());
        assert_eq!(
            fs::metadata(store.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!tmp.exists());
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::at(dir.path());
        fs::write(store.path(), "{not json").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains(FILE_NAME), "{err}");
        assert!(err.contains("roster login"), "{err}");
    }

    #[test]
    fn the_config_dir_comes_from_the_environment_first() {
        let store = CredentialStore::locate(Some("/tmp/roster-x".into())).unwrap();
        assert_eq!(store.path(), PathBuf::from("/tmp/roster-x").join(FILE_NAME));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("rst_secret_token"), "{shown}");
        assert!(shown.contains("dunder-mifflin"));
    }
}
