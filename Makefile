# Nuagerie: the two commands of the README, and one per test tier.
.PHONY: help venv lab lab-down test lint syntax unit molecule bench

help:
	@echo "make lab       bring up the lab in containers and run the main job"
	@echo "make test      run every test tier (lint, syntax, unit, molecule)"
	@echo "make lint | syntax | unit | molecule [SCENARIO='smoke postgresql']"
	@echo "make lab-down  remove the lab containers"

venv:
	scripts/bootstrap

lab:
	scripts/lab up

lab-down:
	scripts/lab down

test:
	scripts/test all

lint syntax unit:
	scripts/test $@

molecule:
	scripts/test molecule $(SCENARIO)
