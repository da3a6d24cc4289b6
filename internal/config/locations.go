package config

import (
	"slices"
	"strings"
)

// location is one Azure public-cloud region: its programmatic name (what the
// API and this file take) and its display name.
type location struct{ name, display string }

// azureLocations lists every Azure public-cloud region (physical regions as
// `az account list-locations` returns them, including restricted-access and
// EUAP canary regions; sovereign clouds such as Azure Government and Azure
// China are not included).
func azureLocations() []location {
	return []location{
		// United States
		{"eastus", "East US"},
		{"eastus2", "East US 2"},
		{"centralus", "Central US"},
		{"northcentralus", "North Central US"},
		{"southcentralus", "South Central US"},
		{"westcentralus", "West Central US"},
		{"westus", "West US"},
		{"westus2", "West US 2"},
		{"westus3", "West US 3"},
		{"centraluseuap", "Central US EUAP"},
		{"eastus2euap", "East US 2 EUAP"},
		// Americas
		{"canadacentral", "Canada Central"},
		{"canadaeast", "Canada East"},
		{"brazilsouth", "Brazil South"},
		{"brazilsoutheast", "Brazil Southeast"},
		{"mexicocentral", "Mexico Central"},
		{"chilecentral", "Chile Central"},
		// Europe
		{"northeurope", "North Europe"},
		{"westeurope", "West Europe"},
		{"uksouth", "UK South"},
		{"ukwest", "UK West"},
		{"francecentral", "France Central"},
		{"francesouth", "France South"},
		{"germanywestcentral", "Germany West Central"},
		{"germanynorth", "Germany North"},
		{"switzerlandnorth", "Switzerland North"},
		{"switzerlandwest", "Switzerland West"},
		{"norwayeast", "Norway East"},
		{"norwaywest", "Norway West"},
		{"swedencentral", "Sweden Central"},
		{"swedensouth", "Sweden South"},
		{"polandcentral", "Poland Central"},
		{"italynorth", "Italy North"},
		{"spaincentral", "Spain Central"},
		{"austriaeast", "Austria East"},
		{"belgiumcentral", "Belgium Central"},
		{"denmarkeast", "Denmark East"},
		// Asia Pacific
		{"eastasia", "East Asia"},
		{"southeastasia", "Southeast Asia"},
		{"japaneast", "Japan East"},
		{"japanwest", "Japan West"},
		{"koreacentral", "Korea Central"},
		{"koreasouth", "Korea South"},
		{"centralindia", "Central India"},
		{"southindia", "South India"},
		{"westindia", "West India"},
		{"jioindiawest", "Jio India West"},
		{"jioindiacentral", "Jio India Central"},
		{"australiaeast", "Australia East"},
		{"australiasoutheast", "Australia Southeast"},
		{"australiacentral", "Australia Central"},
		{"australiacentral2", "Australia Central 2"},
		{"newzealandnorth", "New Zealand North"},
		{"indonesiacentral", "Indonesia Central"},
		{"malaysiawest", "Malaysia West"},
		{"taiwannorth", "Taiwan North"},
		{"taiwannorthwest", "Taiwan Northwest"},
		// Middle East and Africa
		{"uaenorth", "UAE North"},
		{"uaecentral", "UAE Central"},
		{"qatarcentral", "Qatar Central"},
		{"israelcentral", "Israel Central"},
		{"israelnorthwest", "Israel Northwest"},
		{"southafricanorth", "South Africa North"},
		{"southafricawest", "South Africa West"},
	}
}

// locationAliases maps common abbreviations (Azure naming-convention short
// codes and everyday shorthand) to location names. Consulted by
// SuggestLocation only; an alias is never accepted as a location.
func locationAliases() map[string]string {
	return map[string]string{
		"eus": "eastus", "eus2": "eastus2", "cus": "centralus", "ncus": "northcentralus",
		"scus": "southcentralus", "wcus": "westcentralus", "wus": "westus", "wus2": "westus2",
		"wus3": "westus3", "weu": "westeurope", "neu": "northeurope", "westeu": "westeurope",
		"northeu": "northeurope", "euwest": "westeurope", "eunorth": "northeurope",
		"europewest": "westeurope", "europenorth": "northeurope", "uks": "uksouth", "ukw": "ukwest",
		"sea": "southeastasia", "ea": "eastasia", "gwc": "germanywestcentral", "frc": "francecentral",
		"sdc": "swedencentral", "swc": "swedencentral", "noe": "norwayeast", "plc": "polandcentral",
		"itn": "italynorth", "spc": "spaincentral", "chn": "switzerlandnorth", "jpe": "japaneast",
		"jpw": "japanwest", "krc": "koreacentral", "cin": "centralindia", "inc": "centralindia",
		"aue": "australiaeast", "ase": "australiasoutheast", "cac": "canadacentral",
		"cae": "canadaeast", "brs": "brazilsouth", "mxc": "mexicocentral", "uaen": "uaenorth",
		"zan": "southafricanorth", "qac": "qatarcentral", "ilc": "israelcentral",
		"nzn": "newzealandnorth", "useast": "eastus", "useast2": "eastus2", "uswest": "westus",
		"uswest2": "westus2", "uswest3": "westus3", "uscentral": "centralus",
		"us-east-1": "eastus", "us-west-2": "westus2", "eu-west-1": "northeurope",
		"europe-west1": "westeurope", "eu-central-1": "germanywestcentral",
	}
}

// KnownLocations returns every Azure public-cloud location name, sorted.
func KnownLocations() []string {
	locs := azureLocations()
	names := make([]string, len(locs))
	for i, l := range locs {
		names[i] = l.name
	}
	slices.Sort(names)
	return names
}

// IsLocation reports whether name is an Azure public-cloud location name,
// exactly as the API spells it (lowercase, no spaces).
func IsLocation(name string) bool {
	for _, l := range azureLocations() {
		if l.name == name {
			return true
		}
	}
	return false
}

// LocationDisplayName returns the display name of a location ("West
// Europe"), or name itself when it is unknown.
func LocationDisplayName(name string) string {
	for _, l := range azureLocations() {
		if l.name == name {
			return l.display
		}
	}
	return name
}

// SuggestLocation returns the location that s most likely means, or "" when
// nothing is close. It tries, in order: the same name written differently
// ("West Europe", "west-europe", "WestEurope"); a known abbreviation
// ("weu", "westeu"); the one location that s is a prefix of ("westeu" →
// "westeurope"; at least 4 letters); the location whose words s abbreviates
// ("wsteurope"); and the nearest name by edit distance.
func SuggestLocation(s string) string {
	n := normalizeLocation(s)
	if n == "" {
		return ""
	}
	locs := azureLocations()
	for _, l := range locs {
		if l.name == n {
			return l.name
		}
	}
	if a, ok := locationAliases()[strings.ToLower(strings.TrimSpace(s))]; ok {
		return a
	}
	if a, ok := locationAliases()[n]; ok {
		return a
	}
	if len(n) >= 4 {
		var prefixed []string
		for _, l := range locs {
			if strings.HasPrefix(l.name, n) {
				prefixed = append(prefixed, l.name)
			}
		}
		if len(prefixed) > 0 {
			// "east" is a prefix of eastus, eastus2, eastasia...: the
			// shortest is the most likely meant (eastus).
			slices.SortStableFunc(prefixed, func(a, b string) int { return len(a) - len(b) })
			if len(prefixed) == 1 || len(prefixed[0]) < len(prefixed[1]) {
				return prefixed[0]
			}
		}
	}
	best, bestDist := "", -1
	for _, l := range locs {
		d := levenshtein(n, l.name)
		if bestDist < 0 || d < bestDist {
			best, bestDist = l.name, d
		}
	}
	if bestDist >= 0 && bestDist <= maxSuggestDistance(n) {
		return best
	}
	// A subsequence with the same first letter ("wsteurope", "swdncentral").
	if len(n) >= 4 {
		var subs []string
		for _, l := range locs {
			if l.name[0] == n[0] && isSubsequence(n, l.name) {
				subs = append(subs, l.name)
			}
		}
		if len(subs) == 1 {
			return subs[0]
		}
	}
	return ""
}

// normalizeLocation lowercases s and drops spaces, '-' and '_', so that
// display names and common spellings compare equal to location names.
func normalizeLocation(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch r {
		case ' ', '-', '_', '\t', '(', ')':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isSubsequence(short, long string) bool {
	i := 0
	for j := 0; j < len(long) && i < len(short); j++ {
		if short[i] == long[j] {
			i++
		}
	}
	return i == len(short)
}

// maxSuggestDistance is how many edits a suggestion may be away from what was
// written: 1 for short words, up to a third of the length for long ones.
func maxSuggestDistance(s string) int {
	d := len(s) / 3
	if d < 1 {
		d = 1
	}
	if d > 4 {
		d = 4
	}
	return d
}

// levenshtein is the edit distance between a and b (bytes; inputs are short).
func levenshtein(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		// Nothing that long is close to any name here.
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// suggest returns the candidate closest to s: equal after normalising case,
// '-' and '_' (camelCase vs snake_case), else the nearest by edit distance
// within maxSuggestDistance, else "".
func suggest(s string, candidates []string) string {
	ns := normalizeKey(s)
	for _, c := range candidates {
		if normalizeKey(c) == ns {
			return c
		}
	}
	best, bestDist := "", -1
	for _, c := range candidates {
		d := levenshtein(ns, normalizeKey(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist >= 0 && bestDist <= maxSuggestDistance(ns) {
		return best
	}
	// A candidate that s is a prefix of, or that is a prefix of s
	// ("cluster_deployment_reference" → "cluster_deployment_ref").
	if len(ns) >= 4 {
		for _, c := range candidates {
			nc := normalizeKey(c)
			if len(nc) >= 4 && (strings.HasPrefix(nc, ns) || strings.HasPrefix(ns, nc)) {
				return c
			}
		}
	}
	return ""
}

func normalizeKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r == '_' || r == '-' || r == ' ' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
