//! The users recently given push tokens, by name. A notification names its pusher only by the
//! token's subject; whether that user may create the image stream is decided with the groups
//! it had when the token was issued.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::serve::User;

/// Longer than a token lives and a push lasts.
const KEPT: Duration = Duration::from_secs(3600);
const MOST: usize = 10_000;

#[derive(Default)]
pub(crate) struct Pushers {
    recent: Mutex<HashMap<String, (User, Instant)>>,
}

impl Pushers {
    pub(crate) fn remember(&self, user: &User) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= MOST {
            recent.retain(|_, (_, at)| at.elapsed() < KEPT);
            if recent.len() >= MOST {
                recent.clear();
            }
        }
        recent.insert(user.name.clone(), (user.clone(), Instant::now()));
    }

    pub(crate) fn get(&self, name: &str) -> Option<User> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .get(name)
            .filter(|(_, at)| at.elapsed() < KEPT)
            .map(|(u, _)| u.clone())
    }
}
