package kof

import "github.com/k0rdentctl/k0rdentctl/internal/helmrelease"

// Source is where a KOF or Istio chart comes from.
type Source = helmrelease.Source
