// Package regional deploys and runs k0rdent regional management clusters: the
// Region objects of k0rdent 1.5, the clusters behind them (a ClusterDeployment
// k0rdent manages, or an external cluster reached through a kubeconfig
// Secret), the per-region Credentials that carry the Azure cluster identity
// into each region, and the checks that prove the regional components,
// identities and certificates arrived.
//
// It is the Go form of the user's design document (the seed's
// "install-k0rdent-regional.sh" and "k0rdent-regional-functions.sh"): its YAML
// is software.k0rdent.regional.clusters[], its state is the k0rdent_regional
// section of the deployment record. k0rdent regional clusters are independent
// of KOF regional clusters (internal/kof).
//
// # Conventions (every command on regions relies on them)
//
//   - Names. The Region object is named after the regional cluster
//     (clusters[].name). The per-region Credential is
//     config.RegionalCredentialName(region), "<credential.name>-<region>", in
//     the management credential's namespace, with spec.region set to the
//     region and spec.identityRef naming the same AzureClusterIdentity as the
//     management Credential.
//   - Labels. Everything k0rdentctl creates carries LabelRegion
//     (k0rdent.mirantis.com/region: <region>), LabelManagedBy
//     (app.kubernetes.io/managed-by: k0rdentctl) and LabelDeployment
//     (k0rdentctl.io/deployment: <deployment-id>); see Labels and Owned.
//     Objects that existed before k0rdentctl (an adopted
//     ClusterDeployment, Region or Credential, a kubeconfig Secret the user
//     made) are never relabelled, so that removal and cleanup can tell them
//     apart; they are recorded as state.Resources with Adopted set.
//   - A ClusterDeployment that exists, adopted or created by an earlier run,
//     is never modified: k0rdentctl only waits for it to be Ready.
//   - Kubeconfig files. The regional cluster's kubeconfig is written to
//     KubeconfigFiles.KubeconfigPath(<region>) (state/kubeconfigs/<region>.kubeconfig)
//     with mode 0600 and recorded as kubeconfig_path. The management cluster
//     stays the source of truth: phases read the kubeconfig from its Secret
//     (<cd-name>-kubeconfig in the ClusterDeployment's namespace, or the
//     configured kubeconfig_secret in k0rdent's namespace, key "value"), never
//     from the local file.
//   - Phases. Each regional cluster is one chain of phases named
//     "region/<name>/<step>" (PhaseName), steps in this order: preflight,
//     cluster, region, credentials, certificates, components (Steps). Every
//     phase is phase.Grouped by its region (its transitions carry it), a
//     phase.Wanter (software.k0rdent.regional.enabled) and a phase.Verifier,
//     so a resumed deploy verifies what was done and redoes nothing that is
//     still in place. Chains of different regions are independent: one region
//     failing never stops or rolls back another.
//   - State. The chain keeps the region's state.RegionalCluster entry: status
//     pending → deploying → deployed, or failed with last_error (which
//     carries the fix); type, cluster_deployment_created (created vs
//     adopted), region_crd_created, credentials_propagated,
//     certificates_propagated, components (name → version observed in the
//     regional cluster, from the images of its running Deployments) and
//     kubeconfig_path. Created and adopted objects are also recorded as
//     state.Resources with the region and the phase that made them.
//   - Events. Every step adds an event (the Event* constants) with the phase
//     and the region; messages name objects, never their secret content.
//   - Secrets (kubeconfigs, client secrets, certificates) never reach the
//     state, events, progress or errors: only their names and whether their
//     content matches.
//
// # What k0rdent 1.5.0 does and does not do (see the checks)
//
//   - A Region whose cluster reference is invalid when kcm first looks gets
//     no status and is not looked at again until its spec changes: the
//     region step says so instead of waiting (CheckRegionReference,
//     Env.ReconcileGrace).
//   - A Region that ClusterDeployments use is kept, finalizer and all:
//     Remove refuses it (InUseError), or stops and names them
//     (RegionKeptError) when they appear during the removal.
//   - The Region controller reacts to Region spec (generation) changes only.
//   - The registry certificate Secret is copied into a region only when it is
//     missing there and never updated: the certificates phase checks the
//     content and says what to do when it differs.
//   - A Credential with spec.region copies its ClusterIdentity (and the
//     identity's Secret) into the Credential's namespace of the regional
//     cluster only when a ProviderInterface there describes that identity
//     kind; otherwise it skips the copy silently and the Credential never
//     becomes ready. The credentials phase detects that case and says so
//     instead of waiting until the timeout.
//
// # Shape
//
// The package has three parts, read in this order; internal/k0rdent has the
// same shape.
//
//   - The model, shared by the phase chain and the operations: names.go
//     (names, labels, Owned (the one rule for whose an object is), step
//     and event names), env.go (Env: configuration, management cluster,
//     record, clock), observe.go (observed: one look at the configuration,
//     the record and the management cluster's Regions, Credentials and
//     ClusterDeployments; RegionState; CheckRegionReference, the check kcm
//     makes before it reconciles a Region), errors.go (Error with its Fix,
//     UnknownRegionError, RecordError: a record that cannot be written stops
//     what was being done), kubeconfig.go (where kubeconfigs live, the 0600
//     file), probe.go (the authenticated request that proves a kubeconfig),
//     and the checks: certificates.go (CheckCertificate), credentials.go
//     (CheckIdentityCopies, RequestCredentialReconcile), components.go (what
//     runs in a regional cluster, observed versions), providers.go,
//     template.go (template choice, values schema).
//   - The deploy chain: phases.go (Phases, Select, the chain and what its
//     phases share), record.go (the region's state entry, events,
//     resources), and one file per step: preflight.go, cluster.go (with
//     clusterdeployment.go and external.go), region.go, credentials.go,
//     certificates.go, components.go.
//   - The operations, one struct each configured by fields and executed by
//     Run (as Helm's pkg/action and internal/k0rdent's Status do): Deploy
//     (deploy.go, with the Report), Status (status.go), Health and
//     WatchHealth (health.go), RotateCredentials and RotateCertificates
//     (rotate.go), Remove (remove.go) and Cleanup (cleanup.go), the last two
//     with a Plan that changes nothing and a Run that acts on it.
package regional
