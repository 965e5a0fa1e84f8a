# kubescribe — the two commands a newcomer needs:
#   make demo   starts the local stack and plays a short story as alice, bob and carol
#   make test   installs what is missing, builds, type-checks, lints, runs unit and e2e tests
.PHONY: deps build typecheck lint test test-unit test-e2e demo bench dev-up dev-down clean

deps:
	@bash scripts/install-deps.sh

build: deps
	npm run --silent build

typecheck: deps
	npm run --silent typecheck

lint: deps
	npm run --silent lint

test-unit: deps
	npx vitest run --project unit

# The chart on the node runs alone, after the others: its burst of 10,000 ConfigMaps measures one
# pod's memory and drain, and on 2 cores it should not share them with other specs.
test-e2e: build
	npx vitest run --project e2e --exclude e2e/chart-node.e2e.ts
	npx vitest run --project e2e e2e/chart-node.e2e.ts

test: deps build typecheck lint test-unit test-e2e

demo: build
	npm run --silent demo

bench: build
	npx tsx bench/run-all.ts

dev-up: build
	npm run --silent dev:up

dev-down:
	npm run --silent dev:down

clean:
	rm -rf dist .dev coverage
