"""Collects every .feature file under features/; each scenario runs once per matching job."""

from pytest_bdd import scenarios

scenarios(".")
