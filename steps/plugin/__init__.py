"""The suite's pytest plugin: options, selection by what steps need, reachability,
Allure labels, reporting, parallel runs, the step catalogue and feature collection."""
