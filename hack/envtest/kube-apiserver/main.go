// Command kube-apiserver is the Kubernetes API server of k8s.io/kubernetes,
// built from source for k0rdentctl's integration tests.
package main

import (
	"os"
	_ "time/tzdata" // time zones for CronJob, as the upstream binary has them

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
