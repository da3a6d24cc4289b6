# k0rdentctl — build, try and test.
GO      ?= go
BIN     ?= bin/k0rdentctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
DEMO    ?= .cache/demo
FUZZTIME ?= 20s
AZURITE_VERSION ?= 3.37.0
AZURITE_DIR ?= .cache/azurite

.PHONY: build plan test unit envtest azurite wgtools cloudinit fuzz vet bench clean

build: ## build bin/k0rdentctl
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN) ./cmd/k0rdentctl

plan: build ## build, write the multi-region example and show what deploy would do (no credentials, no network)
	@mkdir -p $(DEMO)
	./$(BIN) config init --template multi-region -c $(DEMO)/k0rdent.yaml --force >/dev/null
	./$(BIN) config validate -c $(DEMO)/k0rdent.yaml
	./$(BIN) plan --with-regional -c $(DEMO)/k0rdent.yaml --state-dir $(DEMO)/state

envtest: ## build kube-apiserver and etcd from source into .cache/envtest (once per pinned version)
	bash hack/envtest/build.sh

azurite: ## install the Azurite storage emulator (npm, pinned) into .cache/azurite for the blob-store tests
	@test -f $(AZURITE_DIR)/.installed-$(AZURITE_VERSION) || { \
		npm install --prefix $(AZURITE_DIR) --no-audit --no-fund --loglevel=error azurite@$(AZURITE_VERSION) && \
		touch $(AZURITE_DIR)/.installed-$(AZURITE_VERSION); }

wgtools: ## wg and wg-quick (Debian's wireguard-tools, unpacked, not installed) and wireguard-go into .cache/wgtools for the VPN tests
	bash hack/wgtools.sh

cloudinit: ## cloud-init (Debian's package and the Python modules its schema check needs, unpacked, not installed) into .cache/cloudinit for the user-data tests
	bash hack/cloudinit.sh

vet:
	$(GO) vet ./...

test: envtest azurite wgtools cloudinit vet ## every test: unit, integration against real API servers, a short fuzz run
	$(GO) test -count=1 -timeout 60m ./...
	$(GO) test -race -count=1 ./internal/state/ ./internal/phase/ ./internal/ui/progress/ ./internal/kube/ ./internal/vmcheck/ ./internal/azure/infra/ ./internal/azure/mgmt/ ./internal/azure/preflight/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./internal/config/

unit: azurite wgtools cloudinit ## the fast tests only (no API servers)
	$(GO) test ./internal/config/ ./internal/state/ ./internal/phase/ ./internal/ui/... ./internal/cli/ ./internal/kube/

bench: envtest azurite wgtools cloudinit ## benchmarks; results go to docs/benchmarks.md by hand
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin $(DEMO)
