//! Identity providers and the OAuth server's configuration file.
//!
//! The file has the shape of the `oauthConfig` section of an OpenShift master configuration
//! (either that section's content at the top level, or under an `oauthConfig` key):
//!
//! ```yaml
//! identityProviders:
//! - name: local
//!   challenge: true         # answers `oc login`'s Basic challenges
//!   login: true             # offers the browser login form
//!   mappingMethod: claim    # claim (default), lookup, add or generate
//!   provider:
//!     kind: HTPasswdPasswordIdentityProvider
//!     file: users.htpasswd  # relative to the configuration file
//! grantConfig:
//!   method: auto            # auto, prompt or deny, for clients without a grantMethod
//! tokenConfig:
//!   accessTokenMaxAgeSeconds: 86400
//!   authorizeTokenMaxAgeSeconds: 300
//!   accessTokenInactivityTimeoutSeconds: 0   # 0: none; else at least 300
//! ```

use std::path::Path;

use serde::Deserialize;

use auth::htpasswd::Htpasswd;

/// How a provider's identity becomes a User.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MappingMethod {
    /// A new identity creates the User of its name, unless another identity holds it.
    #[default]
    Claim,
    /// Only identities mapped beforehand (UserIdentityMapping) may log in.
    Lookup,
    /// A new identity joins the User of its name, created if missing.
    Add,
    /// A new identity gets the User of its name, or `name2`, `name3`... if that is taken.
    Generate,
}

/// What a password provider checks credentials against.
pub enum PasswordCheck {
    HtPasswd(Htpasswd),
    /// Development only: any non-empty password is right.
    AllowAll,
    DenyAll,
}

pub struct IdentityProvider {
    pub name: String,
    /// Whether it answers Basic challenges (`oc login`).
    pub challenge: bool,
    /// Whether the browser login form uses it.
    pub login: bool,
    pub mapping: MappingMethod,
    pub check: PasswordCheck,
}

impl IdentityProvider {
    pub fn new(name: &str, check: PasswordCheck) -> IdentityProvider {
        IdentityProvider {
            name: name.to_string(),
            challenge: true,
            login: true,
            mapping: MappingMethod::Claim,
            check,
        }
    }

    /// Whether `password` is `user`'s at this provider.
    pub fn authenticate(&self, user: &str, password: &str) -> bool {
        // Names with ':' or '/' cannot become identities or users.
        if user.is_empty() || user.contains([':', '/', '%']) {
            return false;
        }
        match &self.check {
            PasswordCheck::HtPasswd(file) => file.authenticate(user, password),
            PasswordCheck::AllowAll => !password.is_empty(),
            PasswordCheck::DenyAll => false,
        }
    }
}

/// What to do when a user has not granted a client the scopes it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantMethod {
    #[default]
    Auto,
    Prompt,
    Deny,
}

impl GrantMethod {
    pub fn parse(value: &str) -> Option<GrantMethod> {
        match value {
            "auto" => Some(GrantMethod::Auto),
            "prompt" => Some(GrantMethod::Prompt),
            "deny" => Some(GrantMethod::Deny),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    oauth_config: Option<Section>,
    #[serde(flatten)]
    top: Section,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Section {
    identity_providers: Vec<ProviderEntry>,
    grant_config: GrantConfig,
    pub token_config: TokenConfig,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderEntry {
    name: String,
    #[serde(default = "yes")]
    challenge: bool,
    #[serde(default = "yes")]
    login: bool,
    #[serde(default)]
    mapping_method: MappingMethod,
    provider: ProviderKind,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind")]
enum ProviderKind {
    #[serde(rename = "HTPasswdPasswordIdentityProvider")]
    HtPasswd { file: String },
    #[serde(rename = "AllowAllPasswordIdentityProvider")]
    AllowAll {},
    #[serde(rename = "DenyAllPasswordIdentityProvider")]
    DenyAll {},
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct GrantConfig {
    method: GrantMethod,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenConfig {
    pub access_token_max_age_seconds: Option<i64>,
    pub authorize_token_max_age_seconds: Option<i64>,
    pub access_token_inactivity_timeout_seconds: Option<i64>,
}

/// The smallest inactivity timeout upstream accepts.
pub const MIN_INACTIVITY_TIMEOUT: i64 = 300;

/// The providers, grant method and token settings of a configuration file.
pub fn load(path: &Path) -> Result<(Vec<IdentityProvider>, GrantMethod, TokenConfig), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: File =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let section = file.oauth_config.unwrap_or(file.top);
    let base = path.parent().unwrap_or(Path::new("."));
    let mut providers = Vec::new();
    for entry in section.identity_providers {
        if entry.name.is_empty() || entry.name.contains(':') {
            return Err(format!(
                "{}: identity provider name {:?} must be non-empty and must not contain ':'",
                path.display(),
                entry.name
            ));
        }
        if providers
            .iter()
            .any(|p: &IdentityProvider| p.name == entry.name)
        {
            return Err(format!(
                "{}: identity provider {:?} is configured twice",
                path.display(),
                entry.name
            ));
        }
        let check = match entry.provider {
            ProviderKind::HtPasswd { file } => {
                let file = base.join(file);
                if !file.is_file() {
                    return Err(format!(
                        "{}: htpasswd file {} of provider {:?} does not exist",
                        path.display(),
                        file.display(),
                        entry.name
                    ));
                }
                PasswordCheck::HtPasswd(Htpasswd::new(&file))
            }
            ProviderKind::AllowAll {} => PasswordCheck::AllowAll,
            ProviderKind::DenyAll {} => PasswordCheck::DenyAll,
        };
        providers.push(IdentityProvider {
            name: entry.name,
            challenge: entry.challenge,
            login: entry.login,
            mapping: entry.mapping_method,
            check,
        });
    }
    let tokens = section.token_config;
    if let Some(t) = tokens.access_token_inactivity_timeout_seconds
        && t != 0
        && t < MIN_INACTIVITY_TIMEOUT
    {
        return Err(format!(
            "{}: accessTokenInactivityTimeoutSeconds must be 0 or at least {MIN_INACTIVITY_TIMEOUT}",
            path.display()
        ));
    }
    Ok((providers, section.grant_config.method, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let path = dir.join("oauth.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn configuration_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.htpasswd"), "").unwrap();
        let path = write(
            dir.path(),
            "oauthConfig:\n  identityProviders:\n  - name: local\n    mappingMethod: lookup\n    provider:\n      apiVersion: v1\n      kind: HTPasswdPasswordIdentityProvider\n      file: users.htpasswd\n  - name: dev\n    challenge: false\n    provider: {kind: AllowAllPasswordIdentityProvider}\n  grantConfig: {method: prompt}\n  tokenConfig: {accessTokenMaxAgeSeconds: 600, accessTokenInactivityTimeoutSeconds: 300}\n",
        );
        let (providers, grant, tokens) = load(&path).unwrap();
        assert_eq!(providers.len(), 2);
        assert_eq!(providers[0].mapping, MappingMethod::Lookup);
        assert!(providers[0].challenge && providers[0].login);
        assert!(!providers[1].challenge);
        assert!(providers[1].authenticate("bob", "x"));
        assert!(!providers[1].authenticate("bob", ""));
        assert!(!providers[1].authenticate("a:b", "x"));
        assert_eq!(grant, GrantMethod::Prompt);
        assert_eq!(tokens.access_token_max_age_seconds, Some(600));
        assert_eq!(tokens.access_token_inactivity_timeout_seconds, Some(300));

        // The section's content may also stand at the top level.
        let path = write(
            dir.path(),
            "identityProviders:\n- name: none\n  provider: {kind: DenyAllPasswordIdentityProvider}\n",
        );
        let (providers, grant, _) = load(&path).unwrap();
        assert_eq!(providers[0].name, "none");
        assert!(!providers[0].authenticate("bob", "x"));
        assert_eq!(grant, GrantMethod::Auto);
    }

    #[test]
    fn bad_configuration_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (text, expected) in [
            (
                "identityProviders:\n- name: a:b\n  provider: {kind: AllowAllPasswordIdentityProvider}\n",
                "must not contain ':'",
            ),
            (
                "identityProviders:\n- name: a\n  provider: {kind: HTPasswdPasswordIdentityProvider, file: missing}\n",
                "does not exist",
            ),
            (
                "identityProviders:\n- name: a\n  provider: {kind: LDAPPasswordIdentityProvider}\n",
                "LDAPPasswordIdentityProvider",
            ),
            (
                "tokenConfig: {accessTokenInactivityTimeoutSeconds: 10}\n",
                "at least 300",
            ),
        ] {
            let err = load(&write(dir.path(), text)).map(|_| ()).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }
}
