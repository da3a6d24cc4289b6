package kof

import (
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// RecordInstall puts an install's result into the record.
func RecordInstall(r *state.Record, res *Result, now time.Time) {
	if r.KOF == nil {
		r.KOF = &state.KOF{}
	}
	r.KOF.Version = res.Version
	r.KOF.Releases = nil
	for _, s := range res.Steps {
		r.KOF.Releases = append(r.KOF.Releases, state.KOFRelease{Name: s.Release, Namespace: s.Namespace, ChartVersion: s.ChartVersion, Revision: s.Revision})
	}
	t := now.UTC()
	r.KOF.InstalledAt = &t
}

// RecordRegional puts a KOF regional cluster's state into the record
// (nil st: it was removed).
func RecordRegional(r *state.Record, namespace, name string, st *RegionalStatus) {
	if r.KOF == nil {
		if st == nil {
			return
		}
		r.KOF = &state.KOF{}
	}
	kept := r.KOF.Regional[:0]
	for _, x := range r.KOF.Regional {
		if x.Namespace != namespace || x.Name != name {
			kept = append(kept, x)
		}
	}
	r.KOF.Regional = kept
	if st != nil {
		r.KOF.Regional = append(r.KOF.Regional, state.KOFRegional{Name: st.Name, Namespace: st.Namespace, Region: st.Region,
			Location: st.Location, Ready: st.Ready, Endpoints: st.Endpoints})
	}
}
