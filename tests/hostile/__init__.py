"""The hostile-input suite: one test per hole found by attacking the service, each seen failing first."""
