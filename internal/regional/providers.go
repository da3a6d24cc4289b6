package regional

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// ResolveProviders returns the CAPI providers a Region gets from
// components.capi_providers: the listed names; for true, every provider the
// management cluster runs (Management spec.providers, else the provider
// components in its status.components); none for false. mgmt may be nil only
// when sel is not true.
func ResolveProviders(sel config.ProviderSelection, mgmt *kcmv1.Management) ([]string, error) {
	switch {
	case sel.IsList():
		return dedupe(sel.Names), nil
	case !sel.All:
		return nil, nil
	case mgmt == nil:
		return nil, fmt.Errorf("capi_providers is true (every provider the management cluster runs), but Management %s does not exist", kcmv1.ManagementName)
	}
	var names []string
	for _, p := range mgmt.Spec.Providers {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		for name := range mgmt.Status.Components {
			switch name {
			case kcmv1.CoreKCMName, kcmv1.CoreCAPIName, kcmv1.CoreKCMRegionalName:
				continue
			}
			names = append(names, name)
		}
		sort.Strings(names)
	}
	return dedupe(names), nil
}

func dedupe(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// AzureProvidersWarning says what a region with these providers lacks to run
// Azure child clusters from k0rdent's Azure template (the infrastructure and
// k0smotron providers), "" when nothing.
func AzureProvidersWarning(region string, sel config.ProviderSelection, providers []string) string {
	var missing []string
	for _, p := range []string{config.ProviderAzure, config.ProviderK0smotron} {
		if !slices.Contains(providers, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	from := "components.capi_providers"
	if sel.All {
		from = "the management cluster's providers (capi_providers: true)"
	}
	msg := fmt.Sprintf("region %s will not run Azure child clusters: %s lack %s, which k0rdent's Azure template needs", region, from, strings.Join(missing, " and "))
	if !slices.Contains(providers, config.ProviderSveltos) {
		msg += fmt.Sprintf(" (and %s, which carries services)", config.ProviderSveltos)
	}
	return msg
}
