-- Extended Source Catalog: the 389 release columns in file order (2mass_reference.md §2;
-- the first column is jdate, the last ext_key), then catscan's own columns. Only ra, dec and
-- designation are NOT NULL so that Gator subsets import; release lines must also carry
-- jdate and ext_key (loaders/tables.py).
-- Units in the comments; formats: f -> DOUBLE, hd -> SMALLINT, d -> INTEGER, s -> VARCHAR.
CREATE TABLE xsc (
    "jdate" DOUBLE,
    "designation" VARCHAR NOT NULL,
    "ra" DOUBLE NOT NULL CHECK (ra >= 0 AND ra < 360),
    "dec" DOUBLE NOT NULL CHECK (dec BETWEEN -90 AND 90),
    "sup_ra" DOUBLE,
    "sup_dec" DOUBLE,
    "glon" DOUBLE,
    "glat" DOUBLE,
    "density" DOUBLE,
    "r_k20fe" DOUBLE,
    "j_m_k20fe" DOUBLE,
    "j_msig_k20fe" DOUBLE,
    "j_flg_k20fe" SMALLINT,
    "h_m_k20fe" DOUBLE,
    "h_msig_k20fe" DOUBLE,
    "h_flg_k20fe" SMALLINT,
    "k_m_k20fe" DOUBLE,
    "k_msig_k20fe" DOUBLE,
    "k_flg_k20fe" SMALLINT,
    "r_3sig" DOUBLE,
    "j_ba" DOUBLE,
    "j_phi" SMALLINT,
    "h_ba" DOUBLE,
    "h_phi" SMALLINT,
    "k_ba" DOUBLE,
    "k_phi" SMALLINT,
    "sup_r_3sig" DOUBLE,
    "sup_ba" DOUBLE,
    "sup_phi" SMALLINT,
    "r_fe" DOUBLE,
    "j_m_fe" DOUBLE,
    "j_msig_fe" DOUBLE,
    "j_flg_fe" SMALLINT,
    "h_m_fe" DOUBLE,
    "h_msig_fe" DOUBLE,
    "h_flg_fe" SMALLINT,
    "k_m_fe" DOUBLE,
    "k_msig_fe" DOUBLE,
    "k_flg_fe" SMALLINT,
    "r_ext" DOUBLE,
    "j_m_ext" DOUBLE,
    "j_msig_ext" DOUBLE,
    "j_pchi" DOUBLE,
    "h_m_ext" DOUBLE,
    "h_msig_ext" DOUBLE,
    "h_pchi" DOUBLE,
    "k_m_ext" DOUBLE,
    "k_msig_ext" DOUBLE,
    "k_pchi" DOUBLE,
    "j_r_eff" DOUBLE,
    "j_mnsurfb_eff" DOUBLE,
    "h_r_eff" DOUBLE,
    "h_mnsurfb_eff" DOUBLE,
    "k_r_eff" DOUBLE,
    "k_mnsurfb_eff" DOUBLE,
    "j_con_indx" DOUBLE,
    "h_con_indx" DOUBLE,
    "k_con_indx" DOUBLE,
    "j_peak" DOUBLE,
    "h_peak" DOUBLE,
    "k_peak" DOUBLE,
    "j_5surf" DOUBLE,
    "h_5surf" DOUBLE,
    "k_5surf" DOUBLE,
    "e_score" DOUBLE,
    "g_score" DOUBLE,
    "vc" SMALLINT,
    "cc_flg" VARCHAR,
    "im_nx" SMALLINT,
    "r_k20fc" DOUBLE,
    "j_m_k20fc" DOUBLE,
    "j_msig_k20fc" DOUBLE,
    "j_flg_k20fc" SMALLINT,
    "h_m_k20fc" DOUBLE,
    "h_msig_k20fc" DOUBLE,
    "h_flg_k20fc" SMALLINT,
    "k_m_k20fc" DOUBLE,
    "k_msig_k20fc" DOUBLE,
    "k_flg_k20fc" SMALLINT,
    "j_r_e" DOUBLE,
    "j_m_e" DOUBLE,
    "j_msig_e" DOUBLE,
    "j_flg_e" SMALLINT,
    "h_r_e" DOUBLE,
    "h_m_e" DOUBLE,
    "h_msig_e" DOUBLE,
    "h_flg_e" SMALLINT,
    "k_r_e" DOUBLE,
    "k_m_e" DOUBLE,
    "k_msig_e" DOUBLE,
    "k_flg_e" SMALLINT,
    "j_r_c" DOUBLE,
    "j_m_c" DOUBLE,
    "j_msig_c" DOUBLE,
    "j_flg_c" SMALLINT,
    "h_r_c" DOUBLE,
    "h_m_c" DOUBLE,
    "h_msig_c" DOUBLE,
    "h_flg_c" SMALLINT,
    "k_r_c" DOUBLE,
    "k_m_c" DOUBLE,
    "k_msig_c" DOUBLE,
    "k_flg_c" SMALLINT,
    "r_fc" DOUBLE,
    "j_m_fc" DOUBLE,
    "j_msig_fc" DOUBLE,
    "j_flg_fc" SMALLINT,
    "h_m_fc" DOUBLE,
    "h_msig_fc" DOUBLE,
    "h_flg_fc" SMALLINT,
    "k_m_fc" DOUBLE,
    "k_msig_fc" DOUBLE,
    "k_flg_fc" SMALLINT,
    "j_r_i20e" DOUBLE,
    "j_m_i20e" DOUBLE,
    "j_msig_i20e" DOUBLE,
    "j_flg_i20e" SMALLINT,
    "h_r_i20e" DOUBLE,
    "h_m_i20e" DOUBLE,
    "h_msig_i20e" DOUBLE,
    "h_flg_i20e" SMALLINT,
    "k_r_i20e" DOUBLE,
    "k_m_i20e" DOUBLE,
    "k_msig_i20e" DOUBLE,
    "k_flg_i20e" SMALLINT,
    "j_r_i20c" DOUBLE,
    "j_m_i20c" DOUBLE,
    "j_msig_i20c" DOUBLE,
    "j_flg_i20c" SMALLINT,
    "h_r_i20c" DOUBLE,
    "h_m_i20c" DOUBLE,
    "h_msig_i20c" DOUBLE,
    "h_flg_i20c" SMALLINT,
    "k_r_i20c" DOUBLE,
    "k_m_i20c" DOUBLE,
    "k_msig_i20c" DOUBLE,
    "k_flg_i20c" SMALLINT,
    "j_r_i21e" DOUBLE,
    "j_m_i21e" DOUBLE,
    "j_msig_i21e" DOUBLE,
    "j_flg_i21e" SMALLINT,
    "h_r_i21e" DOUBLE,
    "h_m_i21e" DOUBLE,
    "h_msig_i21e" DOUBLE,
    "h_flg_i21e" SMALLINT,
    "k_r_i21e" DOUBLE,
    "k_m_i21e" DOUBLE,
    "k_msig_i21e" DOUBLE,
    "k_flg_i21e" SMALLINT,
    "r_j21fe" DOUBLE,
    "j_m_j21fe" DOUBLE,
    "j_msig_j21fe" DOUBLE,
    "j_flg_j21fe" SMALLINT,
    "h_m_j21fe" DOUBLE,
    "h_msig_j21fe" DOUBLE,
    "h_flg_j21fe" SMALLINT,
    "k_m_j21fe" DOUBLE,
    "k_msig_j21fe" DOUBLE,
    "k_flg_j21fe" SMALLINT,
    "j_r_i21c" DOUBLE,
    "j_m_i21c" DOUBLE,
    "j_msig_i21c" DOUBLE,
    "j_flg_i21c" SMALLINT,
    "h_r_i21c" DOUBLE,
    "h_m_i21c" DOUBLE,
    "h_msig_i21c" DOUBLE,
    "h_flg_i21c" SMALLINT,
    "k_r_i21c" DOUBLE,
    "k_m_i21c" DOUBLE,
    "k_msig_i21c" DOUBLE,
    "k_flg_i21c" SMALLINT,
    "r_j21fc" DOUBLE,
    "j_m_j21fc" DOUBLE,
    "j_msig_j21fc" DOUBLE,
    "j_flg_j21fc" SMALLINT,
    "h_m_j21fc" DOUBLE,
    "h_msig_j21fc" DOUBLE,
    "h_flg_j21fc" SMALLINT,
    "k_m_j21fc" DOUBLE,
    "k_msig_j21fc" DOUBLE,
    "k_flg_j21fc" SMALLINT,
    "j_m_5" DOUBLE,
    "j_msig_5" DOUBLE,
    "j_flg_5" SMALLINT,
    "h_m_5" DOUBLE,
    "h_msig_5" DOUBLE,
    "h_flg_5" SMALLINT,
    "k_m_5" DOUBLE,
    "k_msig_5" DOUBLE,
    "k_flg_5" SMALLINT,
    "j_m_7" DOUBLE,
    "j_msig_7" DOUBLE,
    "j_flg_7" SMALLINT,
    "h_m_7" DOUBLE,
    "h_msig_7" DOUBLE,
    "h_flg_7" SMALLINT,
    "k_m_7" DOUBLE,
    "k_msig_7" DOUBLE,
    "k_flg_7" SMALLINT,
    "j_m_10" DOUBLE,
    "j_msig_10" DOUBLE,
    "j_flg_10" SMALLINT,
    "h_m_10" DOUBLE,
    "h_msig_10" DOUBLE,
    "h_flg_10" SMALLINT,
    "k_m_10" DOUBLE,
    "k_msig_10" DOUBLE,
    "k_flg_10" SMALLINT,
    "j_m_15" DOUBLE,
    "j_msig_15" DOUBLE,
    "j_flg_15" SMALLINT,
    "h_m_15" DOUBLE,
    "h_msig_15" DOUBLE,
    "h_flg_15" SMALLINT,
    "k_m_15" DOUBLE,
    "k_msig_15" DOUBLE,
    "k_flg_15" SMALLINT,
    "j_m_20" DOUBLE,
    "j_msig_20" DOUBLE,
    "j_flg_20" SMALLINT,
    "h_m_20" DOUBLE,
    "h_msig_20" DOUBLE,
    "h_flg_20" SMALLINT,
    "k_m_20" DOUBLE,
    "k_msig_20" DOUBLE,
    "k_flg_20" SMALLINT,
    "j_m_25" DOUBLE,
    "j_msig_25" DOUBLE,
    "j_flg_25" SMALLINT,
    "h_m_25" DOUBLE,
    "h_msig_25" DOUBLE,
    "h_flg_25" SMALLINT,
    "k_m_25" DOUBLE,
    "k_msig_25" DOUBLE,
    "k_flg_25" SMALLINT,
    "j_m_30" DOUBLE,
    "j_msig_30" DOUBLE,
    "j_flg_30" SMALLINT,
    "h_m_30" DOUBLE,
    "h_msig_30" DOUBLE,
    "h_flg_30" SMALLINT,
    "k_m_30" DOUBLE,
    "k_msig_30" DOUBLE,
    "k_flg_30" SMALLINT,
    "j_m_40" DOUBLE,
    "j_msig_40" DOUBLE,
    "j_flg_40" SMALLINT,
    "h_m_40" DOUBLE,
    "h_msig_40" DOUBLE,
    "h_flg_40" SMALLINT,
    "k_m_40" DOUBLE,
    "k_msig_40" DOUBLE,
    "k_flg_40" SMALLINT,
    "j_m_50" DOUBLE,
    "j_msig_50" DOUBLE,
    "j_flg_50" SMALLINT,
    "h_m_50" DOUBLE,
    "h_msig_50" DOUBLE,
    "h_flg_50" SMALLINT,
    "k_m_50" DOUBLE,
    "k_msig_50" DOUBLE,
    "k_flg_50" SMALLINT,
    "j_m_60" DOUBLE,
    "j_msig_60" DOUBLE,
    "j_flg_60" SMALLINT,
    "h_m_60" DOUBLE,
    "h_msig_60" DOUBLE,
    "h_flg_60" SMALLINT,
    "k_m_60" DOUBLE,
    "k_msig_60" DOUBLE,
    "k_flg_60" SMALLINT,
    "j_m_70" DOUBLE,
    "j_msig_70" DOUBLE,
    "j_flg_70" SMALLINT,
    "h_m_70" DOUBLE,
    "h_msig_70" DOUBLE,
    "h_flg_70" SMALLINT,
    "k_m_70" DOUBLE,
    "k_msig_70" DOUBLE,
    "k_flg_70" SMALLINT,
    "j_m_sys" DOUBLE,
    "j_msig_sys" DOUBLE,
    "h_m_sys" DOUBLE,
    "h_msig_sys" DOUBLE,
    "k_m_sys" DOUBLE,
    "k_msig_sys" DOUBLE,
    "sys_flg" SMALLINT,
    "contam_flg" SMALLINT,
    "j_5sig_ba" DOUBLE,
    "j_5sig_phi" SMALLINT,
    "h_5sig_ba" DOUBLE,
    "h_5sig_phi" SMALLINT,
    "k_5sig_ba" DOUBLE,
    "k_5sig_phi" SMALLINT,
    "j_d_area" SMALLINT,
    "j_perc_darea" SMALLINT,
    "h_d_area" SMALLINT,
    "h_perc_darea" SMALLINT,
    "k_d_area" SMALLINT,
    "k_perc_darea" SMALLINT,
    "j_bisym_rat" DOUBLE,
    "j_bisym_chi" DOUBLE,
    "h_bisym_rat" DOUBLE,
    "h_bisym_chi" DOUBLE,
    "k_bisym_rat" DOUBLE,
    "k_bisym_chi" DOUBLE,
    "j_sh0" DOUBLE,
    "j_sig_sh0" DOUBLE,
    "h_sh0" DOUBLE,
    "h_sig_sh0" DOUBLE,
    "k_sh0" DOUBLE,
    "k_sig_sh0" DOUBLE,
    "j_sc_mxdn" DOUBLE,
    "j_sc_sh" DOUBLE,
    "j_sc_wsh" DOUBLE,
    "j_sc_r23" DOUBLE,
    "j_sc_1mm" DOUBLE,
    "j_sc_2mm" DOUBLE,
    "j_sc_vint" DOUBLE,
    "j_sc_r1" DOUBLE,
    "j_sc_msh" DOUBLE,
    "h_sc_mxdn" DOUBLE,
    "h_sc_sh" DOUBLE,
    "h_sc_wsh" DOUBLE,
    "h_sc_r23" DOUBLE,
    "h_sc_1mm" DOUBLE,
    "h_sc_2mm" DOUBLE,
    "h_sc_vint" DOUBLE,
    "h_sc_r1" DOUBLE,
    "h_sc_msh" DOUBLE,
    "k_sc_mxdn" DOUBLE,
    "k_sc_sh" DOUBLE,
    "k_sc_wsh" DOUBLE,
    "k_sc_r23" DOUBLE,
    "k_sc_1mm" DOUBLE,
    "k_sc_2mm" DOUBLE,
    "k_sc_vint" DOUBLE,
    "k_sc_r1" DOUBLE,
    "k_sc_msh" DOUBLE,
    "j_chif_ellf" DOUBLE,
    "k_chif_ellf" DOUBLE,
    "ellfit_flg" SMALLINT,
    "sup_chif_ellf" DOUBLE,
    "n_blank" SMALLINT,
    "n_sub" SMALLINT,
    "bl_sub_flg" SMALLINT,
    "id_flg" SMALLINT,
    "id_cat" VARCHAR,
    "fg_flg" VARCHAR,
    "blk_fac" SMALLINT,
    "dup_src" SMALLINT,
    "use_src" SMALLINT,
    "prox" DOUBLE,
    "pxpa" SMALLINT,
    "pxcntr" BIGINT,
    "dist_edge_ns" INTEGER,
    "dist_edge_ew" INTEGER,
    "dist_edge_flg" VARCHAR,
    "pts_key" BIGINT,
    "mp_key" INTEGER,
    "night_key" INTEGER,
    "scan_key" INTEGER,
    "coadd_key" INTEGER,
    "hemis" VARCHAR CHECK (hemis IN ('n', 's')),
    "date" DATE,
    "scan" SMALLINT,
    "coadd" SMALLINT,
    "id" INTEGER,
    "x_coadd" DOUBLE,
    "y_coadd" DOUBLE,
    "j_subst2" DOUBLE,
    "h_subst2" DOUBLE,
    "k_subst2" DOUBLE,
    "j_back" DOUBLE,
    "h_back" DOUBLE,
    "k_back" DOUBLE,
    "j_resid_ann" DOUBLE,
    "h_resid_ann" DOUBLE,
    "k_resid_ann" DOUBLE,
    "j_bndg_per" INTEGER,
    "j_bndg_amp" DOUBLE,
    "h_bndg_per" INTEGER,
    "h_bndg_amp" DOUBLE,
    "k_bndg_per" INTEGER,
    "k_bndg_amp" DOUBLE,
    "j_seetrack" DOUBLE,
    "h_seetrack" DOUBLE,
    "k_seetrack" DOUBLE,
    "ext_key" INTEGER,
    hpx29 BIGINT NOT NULL,   -- HEALPix NESTED order-29 index of (ra, dec), cdshealpix
    load_id INTEGER NOT NULL -- loads.load_id of the file this row came from
);

COMMENT ON COLUMN xsc."jdate" IS '[day]';
COMMENT ON COLUMN xsc."ra" IS '[deg]';
COMMENT ON COLUMN xsc."dec" IS '[deg]';
COMMENT ON COLUMN xsc."sup_ra" IS '[deg]';
COMMENT ON COLUMN xsc."sup_dec" IS '[deg]';
COMMENT ON COLUMN xsc."glon" IS '[deg]';
COMMENT ON COLUMN xsc."glat" IS '[deg]';
COMMENT ON COLUMN xsc."r_k20fe" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_k20fe" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_k20fe" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_k20fe" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_k20fe" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_k20fe" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_k20fe" IS '[mag]';
COMMENT ON COLUMN xsc."r_3sig" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_phi" IS '[deg]';
COMMENT ON COLUMN xsc."h_phi" IS '[deg]';
COMMENT ON COLUMN xsc."k_phi" IS '[deg]';
COMMENT ON COLUMN xsc."sup_r_3sig" IS '[arcsec]';
COMMENT ON COLUMN xsc."sup_phi" IS '[deg]';
COMMENT ON COLUMN xsc."r_fe" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_fe" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_fe" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_fe" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_fe" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_fe" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_fe" IS '[mag]';
COMMENT ON COLUMN xsc."r_ext" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_ext" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_ext" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_ext" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_ext" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_ext" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_ext" IS '[mag]';
COMMENT ON COLUMN xsc."j_r_eff" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_mnsurfb_eff" IS '[mag]';
COMMENT ON COLUMN xsc."h_r_eff" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_mnsurfb_eff" IS '[mag]';
COMMENT ON COLUMN xsc."k_r_eff" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_mnsurfb_eff" IS '[mag]';
COMMENT ON COLUMN xsc."j_peak" IS '[mag]';
COMMENT ON COLUMN xsc."h_peak" IS '[mag]';
COMMENT ON COLUMN xsc."k_peak" IS '[mag]';
COMMENT ON COLUMN xsc."j_5surf" IS '[mag]';
COMMENT ON COLUMN xsc."h_5surf" IS '[mag]';
COMMENT ON COLUMN xsc."k_5surf" IS '[mag]';
COMMENT ON COLUMN xsc."r_k20fc" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_k20fc" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_k20fc" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_k20fc" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_k20fc" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_k20fc" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_k20fc" IS '[mag]';
COMMENT ON COLUMN xsc."j_r_e" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_e" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_e" IS '[mag]';
COMMENT ON COLUMN xsc."h_r_e" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_m_e" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_e" IS '[mag]';
COMMENT ON COLUMN xsc."k_r_e" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_m_e" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_e" IS '[mag]';
COMMENT ON COLUMN xsc."j_r_c" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_c" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_c" IS '[mag]';
COMMENT ON COLUMN xsc."h_r_c" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_m_c" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_c" IS '[mag]';
COMMENT ON COLUMN xsc."k_r_c" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_m_c" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_c" IS '[mag]';
COMMENT ON COLUMN xsc."r_fc" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_fc" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_fc" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_fc" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_fc" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_fc" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_fc" IS '[mag]';
COMMENT ON COLUMN xsc."j_r_i20e" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_i20e" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_i20e" IS '[mag]';
COMMENT ON COLUMN xsc."h_r_i20e" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_m_i20e" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_i20e" IS '[mag]';
COMMENT ON COLUMN xsc."k_r_i20e" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_m_i20e" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_i20e" IS '[mag]';
COMMENT ON COLUMN xsc."j_r_i20c" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_i20c" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_i20c" IS '[mag]';
COMMENT ON COLUMN xsc."h_r_i20c" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_m_i20c" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_i20c" IS '[mag]';
COMMENT ON COLUMN xsc."k_r_i20c" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_m_i20c" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_i20c" IS '[mag]';
COMMENT ON COLUMN xsc."j_r_i21e" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_i21e" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_i21e" IS '[mag]';
COMMENT ON COLUMN xsc."h_r_i21e" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_m_i21e" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_i21e" IS '[mag]';
COMMENT ON COLUMN xsc."k_r_i21e" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_m_i21e" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_i21e" IS '[mag]';
COMMENT ON COLUMN xsc."r_j21fe" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_j21fe" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_j21fe" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_j21fe" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_j21fe" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_j21fe" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_j21fe" IS '[mag]';
COMMENT ON COLUMN xsc."j_r_i21c" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_i21c" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_i21c" IS '[mag]';
COMMENT ON COLUMN xsc."h_r_i21c" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_m_i21c" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_i21c" IS '[mag]';
COMMENT ON COLUMN xsc."k_r_i21c" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_m_i21c" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_i21c" IS '[mag]';
COMMENT ON COLUMN xsc."r_j21fc" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_m_j21fc" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_j21fc" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_j21fc" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_j21fc" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_j21fc" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_j21fc" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_5" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_5" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_5" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_5" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_5" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_5" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_7" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_7" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_7" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_7" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_7" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_7" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_10" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_10" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_10" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_10" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_10" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_10" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_15" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_15" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_15" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_15" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_15" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_15" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_20" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_20" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_20" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_20" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_20" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_20" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_25" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_25" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_25" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_25" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_25" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_25" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_30" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_30" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_30" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_30" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_30" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_30" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_40" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_40" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_40" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_40" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_40" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_40" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_50" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_50" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_50" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_50" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_50" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_50" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_60" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_60" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_60" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_60" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_60" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_60" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_70" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_70" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_70" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_70" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_70" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_70" IS '[mag]';
COMMENT ON COLUMN xsc."j_m_sys" IS '[mag]';
COMMENT ON COLUMN xsc."j_msig_sys" IS '[mag]';
COMMENT ON COLUMN xsc."h_m_sys" IS '[mag]';
COMMENT ON COLUMN xsc."h_msig_sys" IS '[mag]';
COMMENT ON COLUMN xsc."k_m_sys" IS '[mag]';
COMMENT ON COLUMN xsc."k_msig_sys" IS '[mag]';
COMMENT ON COLUMN xsc."j_5sig_phi" IS '[deg]';
COMMENT ON COLUMN xsc."h_5sig_phi" IS '[deg]';
COMMENT ON COLUMN xsc."k_5sig_phi" IS '[deg]';
COMMENT ON COLUMN xsc."prox" IS '[arcsec]';
COMMENT ON COLUMN xsc."pxpa" IS '[deg]';
COMMENT ON COLUMN xsc."dist_edge_ns" IS '[arcsec]';
COMMENT ON COLUMN xsc."dist_edge_ew" IS '[arcsec]';
COMMENT ON COLUMN xsc."x_coadd" IS '[arcsec]';
COMMENT ON COLUMN xsc."y_coadd" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_resid_ann" IS '[DN]';
COMMENT ON COLUMN xsc."h_resid_ann" IS '[DN]';
COMMENT ON COLUMN xsc."k_resid_ann" IS '[DN]';
COMMENT ON COLUMN xsc."j_bndg_per" IS '[arcsec]';
COMMENT ON COLUMN xsc."j_bndg_amp" IS '[DN]';
COMMENT ON COLUMN xsc."h_bndg_per" IS '[arcsec]';
COMMENT ON COLUMN xsc."h_bndg_amp" IS '[DN]';
COMMENT ON COLUMN xsc."k_bndg_per" IS '[arcsec]';
COMMENT ON COLUMN xsc."k_bndg_amp" IS '[DN]';
