//! API priority and fairness objects: upstream's defaults for flow schemas' precedence and
//! priority levels' shares and queues.

use serde_json::{Value, json};

use crate::registry::core::defaults::default;
use crate::registry::strategy::Strategy;

pub struct FlowSchemas;

impl Strategy for FlowSchemas {
    fn prepare(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object())
            && spec["matchingPrecedence"].as_i64().unwrap_or(0) == 0
        {
            spec["matchingPrecedence"] = json!(1000);
        }
    }
}

pub struct PriorityLevels;

impl Strategy for PriorityLevels {
    fn prepare(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        if let Some(exempt) = spec.get_mut("exempt").filter(|e| e.is_object()) {
            default(exempt, "nominalConcurrencyShares", json!(0));
            default(exempt, "lendablePercent", json!(0));
        }
        let Some(limited) = spec.get_mut("limited").filter(|l| l.is_object()) else {
            return;
        };
        default(limited, "nominalConcurrencyShares", json!(30));
        default(limited, "lendablePercent", json!(0));
        let queuing = limited
            .pointer_mut("/limitResponse/queuing")
            .filter(|q| q.is_object());
        if let Some(queuing) = queuing {
            for (field, value) in [("handSize", 8), ("queues", 64), ("queueLengthLimit", 50)] {
                if queuing[field].as_i64().unwrap_or(0) == 0 {
                    queuing[field] = json!(value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_control_objects_get_upstreams_defaults() {
        let mut fs = json!({"spec": {"priorityLevelConfiguration": {"name": "x"}}});
        FlowSchemas.prepare(&mut fs);
        assert_eq!(fs["spec"]["matchingPrecedence"], 1000);
        let mut pl = json!({"spec": {"type": "Limited", "limited": {"limitResponse": {
            "type": "Queue", "queuing": {"queues": 16}}}}});
        PriorityLevels.prepare(&mut pl);
        assert_eq!(
            pl["spec"]["limited"],
            json!({"nominalConcurrencyShares": 30, "lendablePercent": 0, "limitResponse": {
                "type": "Queue", "queuing": {"queues": 16, "handSize": 8, "queueLengthLimit": 50}}})
        );
    }
}
