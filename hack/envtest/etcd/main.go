// Command etcd is the etcd server of go.etcd.io/etcd/server/v3, built from
// source for k0rdentctl's integration tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
