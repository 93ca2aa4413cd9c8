//! The last event of a request, written wherever the request ends: its response body sent
//! or dropped early, the request dropped unanswered, or its handler panicked.

use bytes::Bytes;
use serde_json::Value;

use super::captured::Captured;
use super::context::AuditContext;
use super::event::{Event, MicroTime, ResponseStatus, drop_managed_fields};
use super::policy::{Level, RequestConfig, Stage};
use super::request_body::{Metadata, RequestBody};
use super::sink::Sink;

const TRUNCATED: &str = "audit.k8s.io/truncated";

/// What the last event of a request needs, carried to wherever the request ends.
pub(super) struct Completion {
    pub sink: Sink,
    event: Event,
    config: RequestConfig,
    context: AuditContext,
    body: RequestBody,
    /// The response's status code, once there is one.
    pub code: u16,
    /// The response's media type, lower case.
    pub response_type: String,
    /// Whether the response is recorded as the response object.
    pub response_object: bool,
}

impl Completion {
    pub fn new(
        sink: Sink,
        event: Event,
        config: RequestConfig,
        context: AuditContext,
        body: RequestBody,
    ) -> Self {
        Completion {
            sink,
            event,
            config,
            context,
            body,
            code: 0,
            response_type: String::new(),
            response_object: false,
        }
    }

    /// The `ResponseStarted` event of a long-running request.
    pub fn started_line(&mut self) -> Vec<u8> {
        self.event.stage = Stage::ResponseStarted;
        self.event.stage_timestamp = MicroTime::now();
        self.event.response_status = Some(ResponseStatus::code(self.code));
        self.take_recorded(false);
        self.event.line()
    }

    /// The event at `stage` with `status`, if the policy records that stage.
    pub fn last(mut self, stage: Stage, status: ResponseStatus) -> Option<Vec<u8>> {
        if !self.config.records(stage) {
            return None;
        }
        self.event.stage = stage;
        self.event.stage_timestamp = MicroTime::now();
        self.event.response_status = Some(status);
        self.take_recorded(true);
        Some(self.event.line())
    }

    /// The `ResponseComplete` event, with the answer as sent (`complete`) or cut short.
    pub fn line(mut self, response: Captured, complete: bool) -> Option<Vec<u8>> {
        let over = response.over();
        let answer = response
            .bytes()
            .filter(|b| complete && !b.is_empty())
            .and_then(|b| self.response_value(&b));
        let status = match &answer {
            Some(value) => ResponseStatus::of_status(self.code, value),
            None => ResponseStatus::code(self.code),
        };
        if self.response_object {
            match answer {
                Some(mut value) => {
                    if self.config.omit_managed_fields {
                        drop_managed_fields(&mut value);
                    }
                    self.event.response_object = Some(value);
                }
                None if over => self.context.annotate(TRUNCATED, "true"),
                None => {}
            }
        }
        self.last(Stage::ResponseComplete, status)
    }

    fn response_value(&self, body: &Bytes) -> Option<Value> {
        let media = self
            .response_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        match media {
            "application/json" => serde_json::from_slice(body).ok(),
            "application/yaml" => std::str::from_utf8(body)
                .ok()
                .and_then(|text| serde_saphyr::from_str(text).ok()),
            _ => None,
        }
    }

    /// Puts what the handlers recorded into the event; the request body only into the last
    /// one.
    fn take_recorded(&mut self, last: bool) {
        let (annotations, impersonated, request_body) = self.context.with(|r| {
            let body = if last { r.request_body.take() } else { None };
            (r.annotations.clone(), r.impersonated.clone(), body)
        });
        self.event.annotations = annotations;
        self.event.impersonated_user = impersonated;
        let Some(body) = request_body.filter(|b| !b.is_empty()) else {
            return;
        };
        let logged = self.config.level >= Level::Request;
        if self.body.names_object && !logged {
            if let Some(meta) = self.body.metadata(&body) {
                self.complete_object_ref(meta);
            }
            return;
        }
        let Some(mut object) = self.body.decode(&body) else {
            return;
        };
        if self.body.names_object {
            self.complete_object_ref(Metadata::of(&object));
        }
        if logged {
            if self.config.omit_managed_fields {
                drop_managed_fields(&mut object);
            }
            self.event.request_object = Some(object);
        }
    }

    /// Fills what the path did not say from the object's metadata, as upstream.
    fn complete_object_ref(&mut self, meta: Metadata) {
        let Some(r) = &mut self.event.object_ref else {
            return;
        };
        for (field, value) in [
            (&mut r.namespace, meta.namespace),
            (&mut r.name, meta.name),
            (&mut r.uid, meta.uid),
            (&mut r.resource_version, meta.resource_version),
        ] {
            if field.is_empty() {
                *field = value;
            }
        }
    }
}
