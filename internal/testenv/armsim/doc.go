// Package armsim is an in-memory simulation of Azure Resource Manager for
// tests, served through the Azure SDK's own fake server packages: every
// SDK client k0rdentctl uses (armresources, armnetwork, armcompute,
// armauthorization) is wired to one Sim through ClientOptions, in process,
// or, for tests that run k0rdentctl in child processes, over HTTP with
// RemoteClientOptions.
//
// The simulation keeps state, it does not replay canned answers:
//
//   - resources are kept by id (case-insensitive, as ARM treats ids);
//     create-or-update is idempotent and replaces what was there;
//     a GET of what does not exist is a 404 with ARM's error code
//     (ResourceGroupNotFound, ResourceNotFound);
//   - long-running operations go through the SDK's fake pollers, with
//     Options.Polls non-terminal answers before the result;
//   - a resource group delete deletes what is in it; deleting a NIC that a
//     VM uses, a public IP or NSG that a NIC uses, or a subnet with NICs in
//     it is refused as ARM refuses it; references to resources that do not
//     exist are refused (InvalidResourceReference);
//   - a VM creates its OS disk; deleting the VM deletes its NICs, public IPs
//     and OS disk only where their deleteOption says Delete, as Azure does,
//     so a tool that forgets it leaves orphans the tests can see;
//   - resource SKUs with zones and restrictions, vCPU quota per family
//     (usage computed from the VMs in the simulation), marketplace images
//     with their architecture, resource-provider registration;
//   - role assignments at any scope;
//   - faults: a fraction of calls answered 429 (with Retry-After-Ms) or
//     500, Spot capacity errors and VMs that end in provisioning state
//     Failed, per-operation latency; every call is counted and logged.
//
// A test starts one with New, takes clients' options from ClientOptions,
// arranges faults with the Fail* methods, and inspects the result with
// Resources, Calls and Log.
package armsim
