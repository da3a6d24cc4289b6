// Package prepare makes, before anything exists in Azure, what the
// management cluster's VMs are created with: the operator's SSH key, each
// VM's SSH host key (given to the VM, so that its host key is checked from
// the first connection), WireGuard keys for the operator's machine (the hub)
// and each VM, the WireGuard addresses, each VM's cloud-init, and the
// operator's WireGuard configuration.
//
// Private halves are written to 0600 files in the secrets folder and read
// back on the next run, so a resumed deploy uses the same keys. Nothing
// here touches the network.
package prepare
