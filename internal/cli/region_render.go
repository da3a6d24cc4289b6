package cli

// The renderers of the region commands: what people see when -o is table.
// Each takes the domain report and writes it; the commands choose between
// them and -o json|yaml through emit.

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// cell turns a snake_case value into table text.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, "_", " ")
}

func renderRegionStatus(w io.Writer, st ui.Style, rep *regional.StatusReport, statePath string) {
	if rep.ManagementError != "" {
		fmt.Fprintf(w, "%s %s\n", st.Red("management cluster not read:"), rep.ManagementError)
		fmt.Fprintln(w, "  (showing what the configuration and the record say)")
	}
	if len(rep.Regions) == 0 {
		if rep.Total == 0 {
			fmt.Fprintln(w, "No regional clusters: none is configured (software.k0rdent.regional.clusters), recorded or on the management cluster.")
		} else {
			fmt.Fprintf(w, "No regional clusters match the filters (%d known).\n", rep.Total)
		}
		return
	}
	var t ui.Table
	t.Row("NAME", "TYPE", "LOCATION", "STATE", "READY", "COMPONENTS", "CREDENTIALS", "CERTS", "CLUSTERS")
	for _, r := range rep.Regions {
		ready := "-"
		switch {
		case r.Region.Deleting:
			ready = "Deleting"
		case r.Ready != nil && *r.Ready:
			ready = "True"
		case r.Ready != nil:
			ready = "False"
		}
		comps := "-"
		if r.ComponentsTotal > 0 {
			comps = fmt.Sprintf("%d/%d healthy", r.ComponentsHealthy, r.ComponentsTotal)
		}
		creds := cell(r.Credentials)
		switch r.Credentials {
		case regional.CredentialsNone:
			creds = "-"
		case regional.CredentialsUnknown:
			creds = "?"
		}
		certs := "-"
		switch r.Certificates {
		case regional.CertificatesPropagated:
			certs = "yes"
		case regional.CertificatesNotPropagated:
			certs = "no"
		case regional.CertificatesNotConfigured:
			certs = "none"
		case regional.CertificatesUnknown:
			certs = "?"
		}
		if r.Status == state.RegionalPending || r.Status == state.RegionalRemoved {
			if r.Credentials == regional.CredentialsNone {
				creds = "-"
			}
			if r.Certificates != regional.CertificatesPropagated {
				certs = "-"
			}
		}
		status := r.Status
		switch r.Status {
		case state.RegionalFailed:
			status = st.Red(status)
		case state.RegionalDeployed:
			if r.Problem != "" {
				status = st.Yellow(status)
			}
		}
		typ := r.Type
		if typ == "" {
			typ = "-"
		}
		t.Row(r.Name, typ, cell(r.Location), status, ready, comps, creds, certs, fmt.Sprint(len(r.ClusterDeployments)))
	}
	_ = t.Write(w)

	// Details: what is wrong, and where the kubeconfigs are.
	for _, r := range rep.Regions {
		switch {
		case r.Problem != "":
			fmt.Fprintf(w, "  %s: %s\n", r.Name, r.Problem)
		case r.Region.Exists && !r.Region.Done():
			fmt.Fprintf(w, "  %s: Region %s\n", r.Name, r.Region.Summary())
		case r.Status == regional.StatusOrphaned:
			fmt.Fprintf(w, "  %s: made by k0rdentctl, no longer configured or recorded; remove it with: k0rdentctl region cleanup\n", r.Name)
		}
	}
	var counts []string
	keys := make([]string, 0, len(rep.Counts))
	for k := range rep.Counts {
		keys = append(keys, k)
	}
	order := map[string]int{}
	for i, s := range regional.Statuses() {
		order[s] = i
	}
	sort.Slice(keys, func(i, j int) bool { return order[keys[i]] < order[keys[j]] })
	for _, k := range keys {
		counts = append(counts, fmt.Sprintf("%d %s", rep.Counts[k], k))
	}
	line := fmt.Sprintf("%s: %s", plural(len(rep.Regions), "region"), strings.Join(counts, ", "))
	if rep.Management != "" {
		line += " · management cluster " + rep.Management
	}
	fmt.Fprintln(w, line)
	if dir, same := kubeconfigDir(rep.Regions); same && dir != "" {
		fmt.Fprintf(w, "kubeconfigs: %s (k0rdentctl region kubeconfig NAME)\n", filepath.Join(dir, "<name>.kubeconfig"))
	} else {
		for _, r := range rep.Regions {
			if r.KubeconfigPath != "" {
				fmt.Fprintf(w, "kubeconfig of %s: %s\n", r.Name, r.KubeconfigPath)
			}
		}
	}
	if statePath != "" {
		fmt.Fprintf(w, "state: %s · health: k0rdentctl region health\n", statePath)
	}
}

// kubeconfigDir is the folder of the regions' kubeconfig files when all
// of them are <dir>/<name>.kubeconfig.
func kubeconfigDir(rows []regional.RegionStatus) (string, bool) {
	dir := ""
	for _, r := range rows {
		if r.KubeconfigPath == "" {
			continue
		}
		d := filepath.Dir(filepath.Dir(r.KubeconfigPath))
		if state.KubeconfigPath(d, r.Name) != filepath.Clean(r.KubeconfigPath) {
			return "", false
		}
		d = filepath.Dir(r.KubeconfigPath)
		if dir != "" && d != dir {
			return "", false
		}
		dir = d
	}
	return dir, true
}

func healthMark(st ui.Style, h regional.RegionHealth) string {
	switch {
	case h.Skipped != "":
		return st.Dim(ui.MarkSkipped + " " + h.Skipped)
	case h.Health == state.HealthHealthy:
		return st.Green(ui.MarkDone + " healthy")
	case h.Health == state.HealthDegraded:
		return st.Yellow("! degraded")
	case h.Health == state.HealthUnreachable:
		return st.Red(ui.MarkFailed + " unreachable")
	}
	return st.Yellow("? " + h.Health)
}

func renderRegionHealth(w io.Writer, st ui.Style, rep *regional.HealthReport) {
	if rep.ManagementError != "" {
		fmt.Fprintf(w, "%s %s\n", st.Red("management cluster not read:"), rep.ManagementError)
	}
	if len(rep.Regions) == 0 {
		fmt.Fprintln(w, "No regional clusters to check.")
		return
	}
	var t ui.Table
	t.Row("NAME", "HEALTH", "SERVER", "READY", "COMPONENTS", "LATENCY")
	for _, h := range rep.Regions {
		ready := "-"
		if h.Ready != nil {
			ready = "False"
			if *h.Ready {
				ready = "True"
			}
			if h.Region.Reason != "" && !*h.Ready {
				ready += " " + h.Region.Reason
			}
		}
		comps, lat, server := "-", "-", "-"
		if h.ComponentsTotal > 0 {
			comps = fmt.Sprintf("%d/%d available", h.ComponentsAvailable, h.ComponentsTotal)
		}
		if h.Reachable {
			lat = fmt.Sprintf("%.0fms", h.LatencyMS)
		}
		if h.Server != "" {
			server = h.Server
		}
		t.Row(h.Name, healthMark(st, h), server, ready, comps, lat)
	}
	_ = t.Write(w)
	for _, h := range rep.Regions {
		if !h.Unhealthy() {
			continue
		}
		fmt.Fprintf(w, "  %s:\n", h.Name)
		for _, p := range h.Problems {
			fmt.Fprintf(w, "      %s\n", p)
		}
		if h.Fix != "" {
			fmt.Fprintf(w, "      %s %s\n", st.Bold("fix:"), h.Fix)
		}
	}
	var parts []string
	for _, k := range state.HealthValues() {
		if n := rep.Counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	line := strings.Join(parts, ", ")
	if line == "" {
		line = "nothing checked"
	}
	line += " · checked in " + seconds(rep.DurationSeconds)
	if rep.RecordError != "" {
		line += " · not recorded: " + rep.RecordError
	}
	if len(rep.Unhealthy()) > 0 {
		line = st.Red(line)
	} else {
		line = st.Green(line)
	}
	fmt.Fprintln(w, line)
}

// renderRegionHealthChanges prints what changed since the previous check.
func renderRegionHealthChanges(w io.Writer, st ui.Style, rep *regional.HealthReport, trans []regional.ReadyTransition) {
	at := rep.CheckedAt.Local().Format("15:04:05")
	for _, tr := range trans {
		fmt.Fprintf(w, "%s %s\n", st.Dim(at), tr.String())
	}
	for _, h := range rep.Regions {
		if h.Skipped == "" && h.Previous != "" && h.Previous != h.Health {
			msg := fmt.Sprintf("%s: %s → %s", h.Name, h.Previous, healthMark(st, h))
			if len(h.Problems) > 0 {
				msg += ": " + strings.Join(h.Problems, "; ")
			}
			fmt.Fprintf(w, "%s %s\n", st.Dim(at), msg)
		}
	}
}

func renderRegionRotation(w io.Writer, st ui.Style, rep *regional.RotationReport) {
	if rep.NotConfigured != "" {
		fmt.Fprintln(w, "Nothing to rotate: "+rep.NotConfigured+".")
		return
	}
	fmt.Fprintln(w)
	switch {
	case rep.Kind == "credentials" && rep.Changed:
		fmt.Fprintf(w, "Management cluster: new client secret written to Secret %s\n", rep.Secret)
	case rep.Kind == "credentials":
		fmt.Fprintf(w, "Management cluster: Secret %s already held this client secret\n", rep.Secret)
	default:
		fmt.Fprintf(w, "Management cluster: registry certificate Secret %s\n", rep.Secret)
	}
	var t ui.Table
	for _, r := range rep.Regions {
		var mark string
		switch r.Status {
		case regional.RotationVerified:
			mark = st.Green(ui.MarkDone) + " " + r.Target + " matches (" + r.Action + ")"
		case regional.RotationFailed:
			mark = st.Red(ui.MarkFailed + " " + r.Error)
		default:
			mark = st.Dim(ui.MarkSkipped + " skipped: " + r.Reason)
		}
		t.Row("  "+r.Name, mark, seconds(r.DurationSeconds))
	}
	_ = t.Write(w)
	for _, r := range rep.Regions {
		if r.Fix != "" {
			fmt.Fprintf(w, "  %s %s: %s\n", st.Bold("fix"), r.Name, r.Fix)
		}
	}
	line := fmt.Sprintf("%s rotation: %s in %s", rep.Kind, rep.Summary(), seconds(rep.DurationSeconds))
	if rep.RecordError != "" {
		line += " · not recorded: " + rep.RecordError
	}
	if len(rep.Failed()) > 0 {
		fmt.Fprintln(w, st.Red(line))
		return
	}
	fmt.Fprintln(w, st.Green(line))
}

func renderRegionRemoval(w io.Writer, st ui.Style, rep *regional.RemovalReport) {
	for _, s := range rep.Steps {
		var mark string
		switch s.Action {
		case "deleted":
			mark = st.Green(ui.MarkDone) + " deleted"
		case "absent":
			mark = st.Dim(ui.MarkSkipped + " already gone")
		case "kept":
			mark = st.Yellow("kept")
		default:
			mark = st.Red(ui.MarkFailed + " " + s.Action)
		}
		line := "  " + mark + "  " + s.Kind + " " + s.Object
		if s.Detail != "" && s.Action != "failed" {
			line += " (" + s.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	if rep.Status == state.RegionalRemoved {
		fmt.Fprintln(w, st.Green(fmt.Sprintf("regional cluster %s removed in %s", rep.Region, seconds(rep.DurationSeconds))))
		return
	}
	fmt.Fprintln(w, st.Red(fmt.Sprintf("removing regional cluster %s failed: %s", rep.Region, rep.Error)))
	if rep.Fix != "" {
		fmt.Fprintf(w, "  %s %s\n", st.Bold("fix:"), rep.Fix)
	}
}

// renderRegionInUse lists the ClusterDeployments that keep a region from
// being removed.
func renderRegionInUse(w io.Writer, plan *regional.RemovalPlan) {
	fmt.Fprintf(w, "Regional cluster %s is in use by these ClusterDeployments:\n", plan.Region)
	for _, cd := range plan.ClusterDeployments {
		fmt.Fprintf(w, "  %s\n", cd)
	}
}

// renderRemovalPlan lists what a removal will do, before it asks.
func renderRemovalPlan(w io.Writer, st ui.Style, plan *regional.RemovalPlan) {
	fmt.Fprintf(w, "Removing regional cluster %s:\n", plan.Region)
	for i, s := range plan.Steps() {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
	for _, warn := range plan.Warnings {
		fmt.Fprintf(w, "  %s %s\n", st.Yellow("warning:"), warn)
	}
}

// renderCleanupPlan lists what cleanup leaves and, when there are any, the
// orphans it will remove.
func renderCleanupPlan(w io.Writer, plan *regional.CleanupPlan) {
	for _, k := range plan.Kept {
		fmt.Fprintf(w, "  left: %s: %s\n", k.Ref(), k.Reason)
	}
	if len(plan.Orphans) == 0 {
		return
	}
	fmt.Fprintf(w, "Orphans of regional clusters (%d):\n", len(plan.Orphans))
	for _, orph := range plan.Orphans {
		fmt.Fprintf(w, "  %s: %s\n", orph.Ref(), orph.Reason)
	}
}

// renderCleanup says what cleanup removed and what it could not.
func renderCleanup(w io.Writer, st ui.Style, rep *regional.CleanupReport) {
	for _, r := range rep.Removed {
		fmt.Fprintf(w, "  %s removed %s\n", st.Green(ui.MarkDone), r.Ref())
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(w, "  %s %s: %s\n      %s %s\n", st.Red(ui.MarkFailed), f.Ref(), f.Error, st.Bold("fix:"), f.Fix)
	}
	fmt.Fprintf(w, "cleanup: %d removed, %d failed in %s\n", len(rep.Removed), len(rep.Failed), seconds(rep.DurationSeconds))
}

// renderRegionDeploy prints one line per region (what each step did, the
// component versions observed, or what failed and the fix), then the counts.
func renderRegionDeploy(w io.Writer, st ui.Style, rep *regional.Report, statePath string) {
	fmt.Fprintln(w)
	var t ui.Table
	for _, rg := range rep.Regions {
		source := rg.Source
		if rg.ClusterDeploymentCreated != nil {
			if *rg.ClusterDeploymentCreated {
				source += " (created)"
			} else {
				source += " (adopted)"
			}
		}
		t.Row("  "+st.Bold(rg.Name), source, strings.Join(stepMarks(st, rg), "  "))
	}
	_ = t.Write(w)
	for _, rg := range rep.Regions {
		if rg.Fix != "" || len(rg.Warnings) > 0 {
			fmt.Fprintf(w, "  %s:\n", rg.Name)
		}
		for _, warn := range rg.Warnings {
			fmt.Fprintf(w, "      %s %s\n", st.Yellow("warning:"), warn)
		}
		if rg.Fix != "" {
			fmt.Fprintf(w, "      %s %s\n", st.Bold("fix:"), rg.Fix)
		}
	}
	var counts []string
	for _, s := range []string{regional.ReportDeployed, regional.ReportFailed, regional.ReportInterrupted, regional.ReportSkipped} {
		if n := rep.Counts[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	line := strings.Join(counts, ", ")
	if rep.K0rdentVersion != "" {
		line += " · k0rdent " + rep.K0rdentVersion
	}
	line += " · " + ui.Duration(time.Duration(rep.DurationSeconds*float64(time.Second)))
	line += " · state: " + statePath
	if failedRegions := rep.Failed(); len(failedRegions) > 0 {
		line += " · events: k0rdentctl events --region " + failedRegions[0]
	}
	head := st.Green(line)
	if len(rep.Failed()) > 0 {
		head = st.Red(line)
	}
	fmt.Fprintln(w, head)
}

// stepMarks renders a region's steps: "✓ cluster ready 11m02s", "✓ region
// ready", "✗ unreachable: ...", then the versions of its components.
func stepMarks(st ui.Style, rg regional.RegionReport) []string {
	var marks []string
	for _, s := range rg.Steps {
		label := stepLabel(rg, s)
		switch {
		case s.Status == string(state.PhaseFailed):
			marks = append(marks, st.Red(ui.MarkFailed+" "+rg.Error))
		case s.Status == string(state.PhaseInterrupted):
			marks = append(marks, st.Yellow(ui.MarkInterrupted+" "+label+" interrupted"))
		case s.Status == string(state.PhaseSkipped) && strings.HasPrefix(s.Reason, "requirement "):
			// blocked by the failure shown before it
		case s.Status == string(state.PhaseSkipped):
			if s.Step == regional.StepCredentials || s.Step == regional.StepCertificates {
				marks = append(marks, st.Dim(ui.MarkSkipped+" no "+s.Step))
			}
		case s.Step == regional.StepPreflight && s.Status == string(state.PhaseCompleted):
			// only worth showing when it failed
		case s.Status == string(state.PhasePending):
			marks = append(marks, st.Dim(ui.MarkPending+" "+s.Step+" not reached"))
		case s.Step == regional.StepComponents:
			if v := componentVersions(rg.Components); v != "" {
				label = v
			}
			marks = append(marks, st.Green(ui.MarkDone)+" "+label)
		case s.Verified:
			marks = append(marks, st.Green(ui.MarkDone)+" "+label+st.Dim(" (in place)"))
		default:
			marks = append(marks, st.Green(ui.MarkDone)+" "+label)
		}
	}
	return marks
}

func stepLabel(rg regional.RegionReport, s regional.StepReport) string {
	switch s.Step {
	case regional.StepPreflight:
		return "preflight"
	case regional.StepCluster:
		if rg.Type == config.RegionalTypeExternal {
			return "reachable"
		}
		if s.Verified || s.DurationSeconds == 0 {
			return "cluster ready"
		}
		return "cluster ready " + ui.Duration(time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Second))
	case regional.StepRegion:
		return "region ready"
	case regional.StepCredentials:
		return "credentials"
	case regional.StepCertificates:
		return "certificates"
	}
	return s.Step
}

// componentVersions is "cert-manager v1.19.1 velero v1.17.0 capi v1.11.2 capz
// v1.21.0": the chart's components first, then the providers by name.
func componentVersions(m map[string]string) string {
	order := func(k string) int {
		switch k {
		case regional.ComponentCertManager:
			return 0
		case regional.ComponentVelero:
			return 1
		case regional.ComponentClusterAPI:
			return 2
		}
		return 3
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if oi, oj := order(keys[i]), order(keys[j]); oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, regional.ComponentShortName(k)+" "+m[k])
	}
	return strings.Join(parts, " ")
}
