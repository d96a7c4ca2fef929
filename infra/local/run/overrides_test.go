package main

import (
	"reflect"
	"testing"
)

func TestParameterOverrides(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: "JourneyClaimsPerHour=0", want: map[string]string{"JourneyClaimsPerHour": "0"}},
		{in: " A=1,B=2  C= ", want: map[string]string{"A": "1", "B": "2", "C": ""}},
		{in: "A=x=y", want: map[string]string{"A": "x=y"}},
		{in: "A", wantErr: true},
		{in: "=1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parameterOverrides(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("parameterOverrides(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
