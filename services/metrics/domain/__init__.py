"""The metrics service's pure domain: estimators, agreement, drift detection, policy impact."""
