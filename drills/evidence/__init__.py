"""What a drill leaves for auditors: the evidence log, trends, the HTML report, signing,
the Prometheus textfile, the controls matrix and waivers."""
