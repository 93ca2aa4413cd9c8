//! A container's state, last termination, readiness and restarts, as kubectl describes a
//! pod's container status.

use serde_json::Value;

use super::text::timestamp;

/// Go's zero time, which kubectl prints for a state without its time.
const ZERO_TIME: &str = "Mon, 01 Jan 0001 00:00:00 +0000";

fn time(v: &Value) -> String {
    match v.as_str() {
        Some(t) if !t.is_empty() => timestamp(t),
        _ => ZERO_TIME.to_string(),
    }
}

pub fn describe(out: &mut String, status: &Value) {
    state(out, "State", &status["state"]);
    if status["lastState"]["terminated"].is_object() {
        state(out, "Last State", &status["lastState"]);
    }
    let ready = match status["ready"].as_bool().unwrap_or(false) {
        true => "True",
        false => "False",
    };
    out.push_str(&format!("    Ready:\t{ready}\n"));
    out.push_str(&format!(
        "    Restart Count:\t{}\n",
        status["restartCount"].as_i64().unwrap_or(0)
    ));
}

fn state(out: &mut String, name: &str, state: &Value) {
    let (running, waiting, terminated) =
        (&state["running"], &state["waiting"], &state["terminated"]);
    if running.is_object() {
        out.push_str(&format!("    {name}:\tRunning\n"));
        out.push_str(&format!(
            "      Started:\t{}\n",
            time(&running["startedAt"])
        ));
    } else if waiting.is_object() {
        out.push_str(&format!("    {name}:\tWaiting\n"));
        if let Some(r) = waiting["reason"].as_str().filter(|r| !r.is_empty()) {
            out.push_str(&format!("      Reason:\t{r}\n"));
        }
    } else if terminated.is_object() {
        out.push_str(&format!("    {name}:\tTerminated\n"));
        for (label, field) in [("Reason", "reason"), ("Message", "message")] {
            if let Some(v) = terminated[field].as_str().filter(|v| !v.is_empty()) {
                out.push_str(&format!("      {label}:\t{v}\n"));
            }
        }
        out.push_str(&format!(
            "      Exit Code:\t{}\n",
            terminated["exitCode"].as_i64().unwrap_or(0)
        ));
        if let Some(signal) = terminated["signal"].as_i64().filter(|s| *s > 0) {
            out.push_str(&format!("      Signal:\t{signal}\n"));
        }
        out.push_str(&format!(
            "      Started:\t{}\n",
            time(&terminated["startedAt"])
        ));
        out.push_str(&format!(
            "      Finished:\t{}\n",
            time(&terminated["finishedAt"])
        ));
    } else {
        out.push_str(&format!("    {name}:\tWaiting\n"));
    }
}
